//! Campaigns (`CAMPAIGN#<id>`) and their runs (`RUN#<campaign id>#<run id>`).

use super::{Item, Page, Query, Store, StoreError, attr, from_item, keys, n, s, to_item, ts};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use tidings_domain::campaign::{Campaign, CampaignRun, CampaignStatus, Counts, RunStatus};

fn campaign_item(clinic_id: &str, c: &Campaign) -> Result<Item, StoreError> {
    let mut item = to_item(c)?;
    item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
    item.insert("sk".into(), s(keys::campaign_sk(&c.id)));
    Ok(item)
}

/// How a campaign's status may change: to `to`, only from one of `from`.
pub struct StatusChange<'a> {
    pub to: CampaignStatus,
    pub from: &'a [CampaignStatus],
    pub reason: Option<&'a str>,
}

/// What a finished run adds to its campaign.
pub struct RunTotals<'a> {
    pub run_id: &'a str,
    pub counts: Counts,
    pub credits: i64,
}

impl Store {
    pub async fn create_campaign(&self, clinic_id: &str, c: &Campaign) -> Result<bool, StoreError> {
        self.put_if(
            campaign_item(clinic_id, c)?,
            "attribute_not_exists(pk)",
            None,
        )
        .await
    }

    pub async fn get_campaign(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<Option<Campaign>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::campaign_sk(id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Replaces a campaign unchanged since `prev` was read; `Ok(false)` otherwise.
    pub async fn replace_campaign(
        &self,
        clinic_id: &str,
        c: &Campaign,
        prev: &Campaign,
    ) -> Result<bool, StoreError> {
        let values = Item::from([(":prev".to_owned(), ts(&prev.updated_at))]);
        self.put_if(
            campaign_item(clinic_id, c)?,
            "updated_at = :prev",
            Some(values),
        )
        .await
    }

    /// Deletes a campaign (used only to undo a creation whose schedule failed).
    pub async fn delete_campaign(&self, clinic_id: &str, id: &str) -> Result<bool, StoreError> {
        self.delete_if(
            keys::clinic_pk(clinic_id),
            keys::campaign_sk(id),
            "attribute_exists(pk)",
        )
        .await
    }

    /// A page of the clinic's campaigns, newest first, optionally of one status.
    pub async fn list_campaigns(
        &self,
        clinic_id: &str,
        status: Option<CampaignStatus>,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Campaign>, Option<String>), StoreError> {
        let mut q = Query::under(None, keys::clinic_pk(clinic_id), keys::CAMPAIGN_PREFIX);
        q.forward = false;
        if let Some(st) = status {
            q.filter = Some("#s = :status");
            q.names.insert("#s".into(), "status".into());
            q.values.insert(":status".into(), s(st.as_str()));
        }
        let Page { items, next_after } = self
            .page(&q, after_id.map(keys::campaign_sk), limit)
            .await?;
        let list = items
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((
            list,
            next_after.and_then(|sk| sk.strip_prefix(keys::CAMPAIGN_PREFIX).map(str::to_owned)),
        ))
    }

    /// Changes a campaign's status if it is in one of `change.from`; `Ok(false)` otherwise.
    pub async fn set_campaign_status(
        &self,
        clinic_id: &str,
        id: &str,
        change: StatusChange<'_>,
        run_id: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut values = Item::new();
        let mut set = String::new();
        if let Some(r) = run_id {
            set.push_str(", last_run_id = :run");
            values.insert(":run".into(), s(r));
        }
        self.change_status(clinic_id, id, change, at, &set, values)
            .await
    }

    /// Makes `run_id` the one run of a one-time campaign, unless another run is; `Ok(false)`
    /// then (a firing at another time than the one that started it).
    pub async fn claim_only_run(
        &self,
        clinic_id: &str,
        id: &str,
        run_id: &str,
    ) -> Result<bool, StoreError> {
        let values = Item::from([
            (":run".to_owned(), s(run_id)),
            (":null".to_owned(), s("NULL")),
            (":at".to_owned(), ts(&self.now())),
        ]);
        // `updated_at` changes too, so a rename read before this cannot write the claim away.
        self.update_if(
            (keys::clinic_pk(clinic_id), keys::campaign_sk(id)),
            "SET last_run_id = :run, updated_at = :at",
            "attribute_exists(pk) AND (attribute_not_exists(last_run_id) \
             OR attribute_type(last_run_id, :null) OR last_run_id = :run)",
            values,
        )
        .await
    }

    /// Records a finished run on its campaign: its counts, its credits, one more run, and the
    /// status the campaign goes on in (unless it was cancelled meanwhile).
    pub async fn record_run_on_campaign(
        &self,
        clinic_id: &str,
        id: &str,
        totals: RunTotals<'_>,
        change: StatusChange<'_>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let values = Item::from([
            (":counts".to_owned(), attr(&totals.counts)?),
            (":credits".to_owned(), n(totals.credits)),
            (":one".to_owned(), n(1)),
            (":run".to_owned(), s(totals.run_id)),
        ]);
        self.change_status(
            clinic_id,
            id,
            change,
            at,
            ", counts = :counts, last_run_id = :run ADD credits_used :credits, runs :one",
            values,
        )
        .await
    }

    /// Pauses a sending campaign for credits with the counts of its paused run.
    pub async fn pause_campaign(
        &self,
        clinic_id: &str,
        id: &str,
        run_id: &str,
        counts: Counts,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let values = Item::from([
            (":counts".to_owned(), attr(&counts)?),
            (":run".to_owned(), s(run_id)),
        ]);
        self.change_status(
            clinic_id,
            id,
            StatusChange {
                to: CampaignStatus::Paused,
                from: &[CampaignStatus::Sending],
                reason: Some("insufficient_credits"),
            },
            at,
            ", counts = :counts, last_run_id = :run",
            values,
        )
        .await
    }

    /// The status change all of the above make; `more` continues the update expression after
    /// its `SET` of status, reason and time, with its own `values`.
    async fn change_status(
        &self,
        clinic_id: &str,
        id: &str,
        change: StatusChange<'_>,
        at: DateTime<Utc>,
        more: &str,
        mut values: Item,
    ) -> Result<bool, StoreError> {
        values.insert(":to".into(), s(change.to.as_str()));
        values.insert(":at".into(), ts(&at));
        values.insert(
            ":reason".into(),
            change.reason.map_or(AttributeValue::Null(true), s),
        );
        let mut from = Vec::new();
        for (i, st) in change.from.iter().enumerate() {
            values.insert(format!(":f{i}"), s(st.as_str()));
            from.push(format!(":f{i}"));
        }
        let key = (keys::clinic_pk(clinic_id), keys::campaign_sk(id));
        self.update_if(
            key,
            &format!("SET #s = :to, status_reason = :reason, updated_at = :at{more}"),
            &format!("#s IN ({})", from.join(", ")),
            values,
        )
        .await
    }

    /// Starts a run unless a copy of the same firing started it; `Ok(false)` if it exists.
    /// It is on the clinic's open runs' index until it ends.
    pub async fn start_run(&self, clinic_id: &str, run: &CampaignRun) -> Result<bool, StoreError> {
        let mut item = to_item(run)?;
        item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        item.insert("sk".into(), s(keys::run_sk(&run.campaign_id, &run.id)));
        item.insert("gsi2pk".into(), s(keys::open_runs_gsi(clinic_id)));
        item.insert("gsi2sk".into(), s(&run.id));
        self.put_if(item, "attribute_not_exists(pk)", None).await
    }

    pub async fn get_run(
        &self,
        clinic_id: &str,
        campaign_id: &str,
        run_id: &str,
    ) -> Result<Option<CampaignRun>, StoreError> {
        self.get(
            keys::clinic_pk(clinic_id),
            keys::run_sk(campaign_id, run_id),
        )
        .await?
        .map(from_item)
        .transpose()
    }

    /// Counts one more hand-over of a run to a continuation; the new count.
    pub async fn count_continuation(
        &self,
        clinic_id: &str,
        campaign_id: &str,
        run_id: &str,
    ) -> Result<u32, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::clinic_pk(clinic_id)))
            .key("sk", s(keys::run_sk(campaign_id, run_id)))
            .update_expression("ADD continuations :one")
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| StoreError::sdk("UpdateItem", e))?;
        Ok(out
            .attributes
            .and_then(|a| a.get("continuations").cloned())
            .and_then(|v| v.as_n().ok().and_then(|n| n.parse().ok()))
            .unwrap_or(0))
    }

    /// Moves a sending run's checkpoint forward (never back: a slower copy of the run cannot
    /// undo a faster one's progress).
    pub async fn checkpoint_run(
        &self,
        clinic_id: &str,
        campaign_id: &str,
        run_id: &str,
        checkpoint: &str,
    ) -> Result<bool, StoreError> {
        let key = (
            keys::clinic_pk(clinic_id),
            keys::run_sk(campaign_id, run_id),
        );
        let values = Item::from([
            (":cp".to_owned(), s(checkpoint)),
            (":sending".to_owned(), attr(&RunStatus::Sending)?),
        ]);
        self.update_if(
            key,
            "SET checkpoint = :cp",
            "#s = :sending AND (attribute_not_exists(checkpoint) OR checkpoint < :cp)",
            values,
        )
        .await
    }

    /// Records that every person of the run's audience has been planned.
    pub async fn audience_done(
        &self,
        clinic_id: &str,
        campaign_id: &str,
        run_id: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::clinic_pk(clinic_id)))
            .key("sk", s(keys::run_sk(campaign_id, run_id)))
            .update_expression("SET audience_done = :t")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(|e| StoreError::sdk("UpdateItem", e))?;
        Ok(())
    }

    /// Moves a run between sending and paused: pausing stamps `paused_at` and counts the
    /// pause. `Ok(false)` if the run was not in the `from` state (another copy moved it).
    pub async fn set_run_paused(
        &self,
        clinic_id: &str,
        campaign_id: &str,
        run_id: &str,
        paused: bool,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (from, to) = if paused {
            (RunStatus::Sending, RunStatus::Paused)
        } else {
            (RunStatus::Paused, RunStatus::Sending)
        };
        let mut values = Item::from([
            (":from".to_owned(), attr(&from)?),
            (":to".to_owned(), attr(&to)?),
        ]);
        let update = if paused {
            values.insert(":at".into(), ts(&at));
            values.insert(":one".into(), n(1));
            "SET #s = :to, paused_at = :at ADD pauses :one"
        } else {
            "SET #s = :to"
        };
        let key = (
            keys::clinic_pk(clinic_id),
            keys::run_sk(campaign_id, run_id),
        );
        self.update_if(key, update, "#s = :from", values).await
    }

    /// Ends a sending or paused run; `Ok(false)` if another copy ended it first.
    pub async fn finish_run(&self, clinic_id: &str, run: &CampaignRun) -> Result<bool, StoreError> {
        let key = (
            keys::clinic_pk(clinic_id),
            keys::run_sk(&run.campaign_id, &run.id),
        );
        let update = run_end_update("");
        self.update_if(key, &update, RUN_END_CONDITION, run_end_values(run)?)
            .await
    }
}

/// Ends a run: its status, reason, counts, credits and end time (see [`run_end_values`]);
/// `more` sets more after these; the run leaves the open runs' index.
pub(super) fn run_end_update(more: &str) -> String {
    format!(
        "SET #s = :st, reason = :reason, counts = :counts, credits = :credits, \
         finished_at = :at{more} REMOVE gsi2pk, gsi2sk"
    )
}
/// Only a run that is still sending or paused ends.
pub(super) const RUN_END_CONDITION: &str = "#s IN (:sending, :paused)";

/// The values of [`RUN_END_UPDATE`] and [`RUN_END_CONDITION`] for `run`.
pub(super) fn run_end_values(run: &CampaignRun) -> Result<Item, StoreError> {
    Ok(Item::from([
        (":st".to_owned(), attr(&run.status)?),
        (":reason".to_owned(), attr(&run.reason)?),
        (":counts".to_owned(), attr(&run.counts)?),
        (":credits".to_owned(), n(run.credits)),
        (":at".to_owned(), attr(&run.finished_at)?),
        (":sending".to_owned(), attr(&RunStatus::Sending)?),
        (":paused".to_owned(), attr(&RunStatus::Paused)?),
    ]))
}
