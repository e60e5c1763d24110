//! A campaign run's credits. Each copy of a run reserves a page's credits before it claims
//! the page's messages, and gives back what it reserved for messages it did not claim. The
//! run item counts both (`reserved`, `returned`) in the same transactions as the balance and
//! the ledger, so when the run finishes it can give back what was reserved and never used:
//! the credits of a copy that stopped between reserving a page and claiming it. A run that
//! ends early (cancelled, failed, or paused until it expired) is settled the same way once no
//! copy is doing a page of it. After that settlement no copy can reserve or give back for the
//! run again.

use super::campaigns::{RUN_END_CONDITION, run_end_update, run_end_values};
use super::{Item, Store, StoreError, TxError, attr, keys, n, names_used, s};
use tidings_domain::campaign::CampaignRun;
use tidings_domain::credits::LedgerEntry;

/// A run, by its campaign's id and its own.
pub type RunKey<'a> = (&'a str, &'a str);

/// Why a run's reservation was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The paying account has less than the reservation.
    Short,
    /// The ledger entry was written before.
    Duplicate,
    /// The run is missing, or finished and settled.
    RunSettled,
}

/// Counts `update` (`ADD reserved :c` or `ADD returned :c`) on a run that is not settled.
const OPEN_RUN: &str = "attribute_exists(pk) AND attribute_not_exists(settled_at)";

impl Store {
    /// Takes a page's credits from the paying account, writes the ledger entry and counts them
    /// as reserved by the run, in one transaction.
    pub async fn reserve_run_credits(
        &self,
        clinic_id: &str,
        run: RunKey<'_>,
        entry: &LedgerEntry,
    ) -> Result<(), TxError<Reservation>> {
        let credits = -entry.credits;
        self.transact(vec![
            (
                self.tx_take_credits(clinic_id, &entry.account, credits)?,
                Reservation::Short,
            ),
            (self.tx_ledger(clinic_id, entry)?, Reservation::Duplicate),
            (
                self.tx_count(
                    clinic_id,
                    run,
                    "ADD reserved :c SET account = :account",
                    Item::from([
                        (":c".to_owned(), n(credits)),
                        (":account".to_owned(), s(&entry.account)),
                    ]),
                )?,
                Reservation::RunSettled,
            ),
        ])
        .await
    }

    /// Gives reserved credits back to the paying account, with their ledger entry, and counts
    /// them as returned by the run; `Ok(false)` when the run was settled already (which gave
    /// back everything reserved and not used, these credits included).
    pub async fn return_run_credits(
        &self,
        clinic_id: &str,
        run: RunKey<'_>,
        entry: &LedgerEntry,
    ) -> Result<bool, StoreError> {
        let res = self
            .transact(vec![
                (
                    self.tx_add_credits(clinic_id, &entry.account, entry.credits)?,
                    false,
                ),
                (self.tx_ledger(clinic_id, entry)?, false),
                (
                    self.tx_count(
                        clinic_id,
                        run,
                        "ADD returned :c",
                        Item::from([(":c".to_owned(), n(entry.credits))]),
                    )?,
                    true,
                ),
            ])
            .await;
        run_condition_held(res)
    }

    /// Ends a sending or paused run as [`Store::finish_run`] does and settles it: `refund`
    /// gives back what was reserved and never used, in the same transaction. It commits only
    /// while the run's counts are still `run.reserved` and `run.returned` (as read before the
    /// refund was worked out); `Ok(false)` when they moved or another copy ended the run.
    pub async fn finish_settled_run(
        &self,
        clinic_id: &str,
        run: &CampaignRun,
        refund: Option<&LedgerEntry>,
    ) -> Result<bool, StoreError> {
        let update = run_end_update(", settled_at = :settled, returned = :after");
        // Runs started before runs counted their credits have neither count.
        let condition = format!(
            "{RUN_END_CONDITION} \
             AND (reserved = :reserved OR attribute_not_exists(reserved)) \
             AND (returned = :returned OR attribute_not_exists(returned))"
        );
        let values = run_end_values(run)?;
        self.settle_run(clinic_id, run, (&update, &condition), values, refund)
            .await
    }

    /// Settles a run that ended without going through its whole audience (see
    /// [`Store::finish_settled_run`] for `refund` and the counts); `Ok(false)` when the counts
    /// moved, or the run is not ended or was settled already.
    pub async fn settle_ended_run(
        &self,
        clinic_id: &str,
        run: &CampaignRun,
        refund: Option<&LedgerEntry>,
    ) -> Result<bool, StoreError> {
        let update = "SET settled_at = :settled, returned = :after";
        let condition = "attribute_exists(finished_at) AND attribute_not_exists(settled_at) \
             AND reserved = :reserved AND returned = :returned";
        self.settle_run(clinic_id, run, (update, condition), Item::new(), refund)
            .await
    }

    /// Updates the run item on `condition`, and with it (in one transaction) pays `refund`
    /// back; `Ok(false)` when the condition failed. Besides `values`, the update and the
    /// condition may use `:settled` (the run's `settled_at`), `:reserved` and `:returned` (its
    /// counts as read) and `:after` (`returned` with the refund).
    async fn settle_run(
        &self,
        clinic_id: &str,
        run: &CampaignRun,
        (update, condition): (&str, &str),
        mut values: Item,
        refund: Option<&LedgerEntry>,
    ) -> Result<bool, StoreError> {
        let refunded = refund.map_or(0, |e| e.credits);
        values.extend([
            (":settled".to_owned(), attr(&run.settled_at)?),
            (":reserved".to_owned(), n(run.reserved)),
            (":returned".to_owned(), n(run.returned)),
            (":after".to_owned(), n(run.returned + refunded)),
        ]);
        let (pk, sk) = (
            keys::clinic_pk(clinic_id),
            keys::run_sk(&run.campaign_id, &run.id),
        );
        let Some(entry) = refund else {
            return self.update_if((pk, sk), update, condition, values).await;
        };
        let names = names_used(update, condition).unwrap_or_default();
        let res = self
            .transact(vec![
                (
                    self.tx_update_named(pk, sk, update, Some(condition), names, values)?,
                    true,
                ),
                (
                    self.tx_add_credits(clinic_id, &entry.account, entry.credits)?,
                    false,
                ),
                (self.tx_ledger(clinic_id, entry)?, false),
            ])
            .await;
        run_condition_held(res)
    }

    /// Updates one of a run's counts (`update` with `values`) while the run is open.
    fn tx_count(
        &self,
        clinic_id: &str,
        (campaign_id, run_id): RunKey<'_>,
        update: &str,
        values: Item,
    ) -> Result<aws_sdk_dynamodb::types::TransactWriteItem, StoreError> {
        self.tx_update(
            keys::clinic_pk(clinic_id),
            keys::run_sk(campaign_id, run_id),
            update,
            OPEN_RUN,
            values,
        )
    }
}

/// `Ok(false)` when the condition on the run item (the item marked `true`) failed; the other
/// items only fail on a ledger entry whose fresh id exists.
fn run_condition_held(res: Result<(), TxError<bool>>) -> Result<bool, StoreError> {
    match res {
        Ok(()) => Ok(true),
        Err(TxError::Condition(true)) => Ok(false),
        Err(TxError::Condition(false)) => Err(StoreError::Collision),
        Err(TxError::Store(e)) => Err(e),
    }
}
