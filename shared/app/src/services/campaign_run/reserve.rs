//! A page's credits reserved from the paying account, in one transaction, as far as they go.

use super::plan::{Plan, run_entry};
use crate::store::{Reservation, TxError};
use crate::{App, ServiceError};
use tidings_domain::credits::EntryKind;

/// Reserves the credits of the longest prefix of `costs` the paying account can afford, in
/// one transaction; how many messages that prefix holds. When the whole is refused, an
/// automatic top-up is given its chance before the balance is read again.
pub(super) async fn reserve_prefix(
    app: &App,
    plan: &Plan,
    costs: &[i64],
) -> Result<usize, ServiceError> {
    let store = &app.store;
    let clinic_id = &plan.clinic.id;
    let mut n = costs.len();
    for _ in 0..4 {
        let cost: i64 = costs[..n].iter().sum();
        if cost == 0 {
            return Ok(n);
        }
        let entry = run_entry(
            plan,
            (EntryKind::Debit, -cost),
            format!("campaign {}", plan.campaign.id),
            app.now(),
        );
        let run = (plan.campaign.id.as_str(), plan.run_id.as_str());
        match store.reserve_run_credits(clinic_id, run, &entry).await {
            Ok(()) => {
                crate::services::auto_top_up::after_debit(app, clinic_id, &plan.account).await;
                return Ok(n);
            }
            Err(TxError::Condition(Reservation::Short)) => {
                crate::services::auto_top_up::after_debit(app, clinic_id, &plan.account).await;
                let balance = store.credit_balance(clinic_id, &plan.account).await?;
                n = affordable(costs, balance);
            }
            Err(TxError::Condition(Reservation::Duplicate)) => {
                return Err(ServiceError::conflict(
                    "duplicate_id",
                    None,
                    "ledger entry exists",
                ));
            }
            // A copy that stalled past its lease while others finished the run.
            Err(TxError::Condition(Reservation::RunSettled)) => {
                return Err(ServiceError::conflict(
                    "run_settled",
                    None,
                    "the run has finished and settled its credits",
                ));
            }
            Err(TxError::Store(e)) => return Err(e.into()),
        }
    }
    Ok(0)
}

/// How many of `costs`, in order, `balance` pays for.
fn affordable(costs: &[i64], balance: i64) -> usize {
    let mut left = balance;
    costs
        .iter()
        .take_while(|c| {
            left -= **c;
            left >= 0
        })
        .count()
}
