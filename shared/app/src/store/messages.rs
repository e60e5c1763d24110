//! Messages (`MESSAGE#<id>`, and on the index under their patient) and the send records that
//! claim a request once (`SEND#<key>`).
//!
//! A send is claimed in one transaction: the send record, the debit of its credits with its
//! ledger entry, and every message it will send, each written only if absent. Either all of it
//! is stored or none, so a retried or concurrent request can never send or charge twice.

use super::{
    Item, Page, Query, Store, StoreError, TxError, attr, from_item, keys, s, sort_key, status_name,
    to_item, ts,
};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use tidings_domain::credits::LedgerEntry;
use tidings_domain::message::{Message, Outcome, Status};
use tidings_domain::message_template::Channel;

/// `gsi2sk` of a sent SMS found by its provider's id.
const RECEIPT_SK: &str = "MESSAGE";

/// A claimed send request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SendRecord {
    pub request_id: String,
    /// SHA-256 of the request body: a reused idempotency key with another body is refused.
    pub body_hash: String,
    pub message_count: usize,
    pub credits: i64,
    pub created_at: DateTime<Utc>,
}

/// Why a send claim did not commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendClaim {
    /// The request (or one of its messages) was claimed before.
    AlreadyClaimed,
    InsufficientCredits,
}

/// Ends a message (`:from` → `:to`) with a reason and puts it in its patient's history.
const END_UPDATE: &str =
    "SET #s = :to, reason = :reason, updated_at = :at, gsi1pk = :g, gsi1sk = :id";
const END_CONDITION: &str = "#s = :from";

/// The values of [`END_UPDATE`] and [`END_CONDITION`].
fn end_values(
    clinic_id: &str,
    (id, patient_id): (&str, &str),
    (from, to): (Status, Status),
    reason: &str,
    at: DateTime<Utc>,
) -> Result<Item, StoreError> {
    Ok(Item::from([
        (":from".to_owned(), attr(&from)?),
        (":to".to_owned(), attr(&to)?),
        (":reason".to_owned(), s(reason)),
        (":at".to_owned(), ts(&at)),
        (
            ":g".to_owned(),
            s(keys::patient_messages_gsi(clinic_id, patient_id)),
        ),
        (":id".to_owned(), s(id)),
    ]))
}

fn message_item(clinic_id: &str, m: &Message) -> Result<Item, StoreError> {
    let mut item = to_item(m)?;
    item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
    item.insert("sk".into(), s(keys::message_sk(&m.id)));
    item.insert(
        "gsi1pk".into(),
        s(keys::patient_messages_gsi(clinic_id, &m.patient_id)),
    );
    item.insert("gsi1sk".into(), s(&m.id));
    Ok(item)
}

/// A message as its claim writes it: a queued or held message joins its patient's history (the
/// index) when it is sent or fails, so that its claim is one write, not two.
pub(super) fn claim_item(clinic_id: &str, m: &Message) -> Result<Item, StoreError> {
    let mut item = message_item(clinic_id, m)?;
    if matches!(m.status, Status::Queued | Status::Held) {
        item.remove("gsi1pk");
        item.remove("gsi1sk");
    }
    Ok(item)
}

impl Store {
    /// Claims a send: its record, its debit (when it costs anything) and its messages.
    pub async fn claim_send(
        &self,
        clinic_id: &str,
        send_key: &str,
        record: &SendRecord,
        debit: Option<&LedgerEntry>,
        messages: &[Message],
    ) -> Result<(), TxError<SendClaim>> {
        let mut send = to_item(record)?;
        send.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        send.insert("sk".into(), s(keys::send_sk(send_key)));
        // Open until its function has recorded every message (see `Store::close_send`), by
        // the wall-clock time of the claim: leases run on the wall clock, whatever time an
        // automatic send is "at".
        let shard = keys::open_send_shard(send_key);
        send.insert("gsi3pk".into(), s(keys::open_sends_gsi(shard)));
        send.insert(
            "gsi3sk".into(),
            s(super::unconfirmed::open_send_sk(&self.now())),
        );
        let mut tx = vec![(
            self.tx_put(send, "attribute_not_exists(pk)", None)?,
            SendClaim::AlreadyClaimed,
        )];
        if let Some(entry) = debit {
            tx.push((
                self.tx_take_credits(clinic_id, &entry.account, -entry.credits)?,
                SendClaim::InsufficientCredits,
            ));
            tx.push((self.tx_ledger(clinic_id, entry)?, SendClaim::AlreadyClaimed));
        }
        for m in messages {
            tx.push((
                self.tx_put(
                    message_item(clinic_id, m)?,
                    "attribute_not_exists(pk)",
                    None,
                )?,
                SendClaim::AlreadyClaimed,
            ));
        }
        self.transact(tx).await
    }

    pub async fn get_send(
        &self,
        clinic_id: &str,
        send_key: &str,
    ) -> Result<Option<SendRecord>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::send_sk(send_key))
            .await?
            .map(from_item)
            .transpose()
    }

    /// The messages of one send request, in the order they were planned.
    pub async fn request_messages(
        &self,
        clinic_id: &str,
        request_id: &str,
    ) -> Result<Vec<Message>, StoreError> {
        self.query_all(Query::under(
            None,
            keys::clinic_pk(clinic_id),
            keys::message_sk(&format!("{request_id}-")),
        ))
        .await
    }

    pub async fn get_message(
        &self,
        clinic_id: &str,
        id: &str,
    ) -> Result<Option<Message>, StoreError> {
        self.get(keys::clinic_pk(clinic_id), keys::message_sk(id))
            .await?
            .map(from_item)
            .transpose()
    }

    /// Marks a queued message sent, puts it in its patient's history (the index) and, for an
    /// SMS, makes it findable by the provider's id (for receipts; email events carry the
    /// message's id); `Ok(false)` if it was no longer queued. A message marked unconfirmed
    /// while its (slow, live) sender still had it is settled by this write too.
    pub async fn mark_sent(
        &self,
        clinic_id: &str,
        m: &Message,
        provider_message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = (keys::clinic_pk(clinic_id), keys::message_sk(&m.id));
        let mut values = Item::from([
            (":sent".to_owned(), attr(&Status::Sent)?),
            (":queued".to_owned(), attr(&Status::Queued)?),
            (":unconfirmed".to_owned(), attr(&Status::Unconfirmed)?),
            (":pid".to_owned(), s(provider_message_id)),
            (":at".to_owned(), ts(&at)),
            (
                ":g".to_owned(),
                s(keys::patient_messages_gsi(clinic_id, &m.patient_id)),
            ),
            (":id".to_owned(), s(&m.id)),
        ]);
        let mut update = "SET #s = :sent, provider_message_id = :pid, sent_at = :at, updated_at = :at, gsi1pk = :g, gsi1sk = :id".to_owned();
        if m.channel == Channel::Sms {
            values.insert(
                ":p".to_owned(),
                s(keys::provider_message_gsi(provider_message_id)),
            );
            values.insert(":m".to_owned(), s(RECEIPT_SK));
            update.push_str(", gsi2pk = :p, gsi2sk = :m");
        }
        self.update_if(key, &update, "#s IN (:queued, :unconfirmed)", values)
            .await
    }

    /// Records sent messages (status, provider id and time already set on each) as
    /// [`Store::mark_sent`] does, up to 25 to a call instead of one call each. Each is put
    /// whole and without a condition (a batch write cannot carry one): only the copy of the
    /// run that holds a message's lease sends and records it.
    pub async fn record_sent(&self, clinic_id: &str, sent: &[Message]) -> Result<(), StoreError> {
        for chunk in sent.chunks(super::BATCH_WRITE) {
            let items = chunk
                .iter()
                .map(|m| {
                    let mut item = message_item(clinic_id, m)?;
                    if let (Channel::Sms, Some(pid)) = (m.channel, &m.provider_message_id) {
                        item.insert("gsi2pk".into(), s(keys::provider_message_gsi(pid)));
                        item.insert("gsi2sk".into(), s(RECEIPT_SK));
                    }
                    Ok(item)
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            self.put_batch(items).await?;
        }
        Ok(())
    }

    /// Marks a queued message failed with the provider's reason and gives its credits back, in
    /// one transaction: a message is refunded at most once.
    pub async fn fail_and_refund(
        &self,
        clinic_id: &str,
        (id, patient_id): (&str, &str),
        reason: &str,
        refund: Option<&LedgerEntry>,
        at: DateTime<Utc>,
    ) -> Result<(), TxError<()>> {
        let values = end_values(
            clinic_id,
            (id, patient_id),
            (Status::Queued, Status::Failed),
            reason,
            at,
        )?;
        let update = self.tx_update_named(
            keys::clinic_pk(clinic_id),
            keys::message_sk(id),
            END_UPDATE,
            Some(END_CONDITION),
            status_name(),
            values,
        )?;
        let mut tx = vec![(update, ())];
        if let Some(entry) = refund {
            tx.push((
                self.tx_add_credits(clinic_id, &entry.account, entry.credits)?,
                (),
            ));
            tx.push((self.tx_ledger(clinic_id, entry)?, ()));
        }
        self.transact(tx).await
    }

    /// A page of the clinic's messages with sort keys in `range`, newest first, optionally
    /// of one category, after the message `after_id`.
    pub async fn list_messages(
        &self,
        clinic_id: &str,
        range: (String, String),
        category: Option<&str>,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Message>, Option<String>), StoreError> {
        let mut q = Query::under(None, keys::clinic_pk(clinic_id), keys::MESSAGE_PREFIX);
        q.forward = false;
        q.sk_between = Some(range);
        if let Some(c) = category {
            q.filter = Some("category = :category");
            q.values.insert(":category".into(), s(c));
        }
        let page = self.page(&q, after_id.map(keys::message_sk), limit).await?;
        messages_page(page)
    }

    /// Every message with a sort key in `range` (statistics), oldest first.
    pub async fn messages_between(
        &self,
        clinic_id: &str,
        range: (String, String),
    ) -> Result<Vec<Message>, StoreError> {
        let mut q = Query::under(None, keys::clinic_pk(clinic_id), keys::MESSAGE_PREFIX);
        q.sk_between = Some(range);
        q.limit = 500;
        self.query_all(q).await
    }

    /// A page of the messages about a patient, newest first; with `include_contacts`, the
    /// copies sent to the patient's contacts too.
    pub async fn patient_messages(
        &self,
        clinic_id: &str,
        patient_id: &str,
        include_contacts: bool,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Message>, Option<String>), StoreError> {
        let only_patient = (!include_contacts).then(|| ("recipient = :v", "patient".to_owned()));
        self.history_page(clinic_id, patient_id, only_patient, after_id, limit)
            .await
    }

    /// One page of `patient_id`'s history index, newest first, after the message `after_id`,
    /// with `filter` (an expression on the value `:v`).
    async fn history_page(
        &self,
        clinic_id: &str,
        patient_id: &str,
        filter: Option<(&'static str, String)>,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Message>, Option<String>), StoreError> {
        let gsi = keys::patient_messages_gsi(clinic_id, patient_id);
        let mut q = Query::under(Some(super::GSI1), gsi.clone(), "");
        q.forward = false;
        if let Some((expression, value)) = filter {
            q.filter = Some(expression);
            q.values.insert(":v".into(), s(value));
        }
        let start = after_id.map(|id| {
            Item::from([
                ("pk".to_owned(), s(keys::clinic_pk(clinic_id))),
                ("sk".to_owned(), s(keys::message_sk(id))),
                ("gsi1pk".to_owned(), s(&gsi)),
                ("gsi1sk".to_owned(), s(id)),
            ])
        });
        let page = self.page_from(&q, start, limit).await?;
        messages_page(page)
    }

    /// The ids of every copy `contact_id` received of `patient_id`'s messages.
    pub async fn contact_copy_ids(
        &self,
        clinic_id: &str,
        patient_id: &str,
        contact_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut q = Query::under(
            Some(super::GSI1),
            keys::patient_messages_gsi(clinic_id, patient_id),
            "",
        );
        q.filter = Some("contact_id = :contact");
        q.values.insert(":contact".into(), s(contact_id));
        let found: Vec<super::SortKey> = self.query_all(q).await?;
        Ok(found
            .into_iter()
            .filter_map(|k| k.sk.strip_prefix(keys::MESSAGE_PREFIX).map(str::to_owned))
            .collect())
    }

    /// The copies `contact_id` received of `patient_id`'s messages, newest first, after the
    /// message id `after_id`.
    pub async fn contact_copies(
        &self,
        clinic_id: &str,
        patient_id: &str,
        contact_id: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Message>, Option<String>), StoreError> {
        let of_contact = Some(("contact_id = :v", contact_id.to_owned()));
        self.history_page(clinic_id, patient_id, of_contact, after_id, limit)
            .await
    }
}

/// Claims of campaign messages (their credits are reserved first: see `run_credits.rs`):
/// each with a conditional put, so a message listed twice, or claimed by another copy of the
/// same run, is claimed once; or in batches, on a page that is one copy's alone.
impl Store {
    /// Writes a message unless one with its id exists; `Ok(false)` if it does.
    pub async fn claim_message(&self, clinic_id: &str, m: &Message) -> Result<bool, StoreError> {
        self.put_if(claim_item(clinic_id, m)?, "attribute_not_exists(pk)", None)
            .await
    }

    /// Writes up to 25 messages in one call as [`Store::claim_message`] would, but without its
    /// condition: for a page of a run that only this copy plans, whose messages nobody else
    /// writes (see [`Store::claim_page`]).
    pub async fn claim_messages(
        &self,
        clinic_id: &str,
        messages: &[Message],
    ) -> Result<(), StoreError> {
        let items = messages
            .iter()
            .map(|m| claim_item(clinic_id, m))
            .collect::<Result<Vec<_>, _>>()?;
        self.put_batch(items).await
    }

    /// Takes over a queued message whose lease ran out (`prev`), until `until`; `Ok(false)`
    /// if it was sent, failed, or taken by another copy meanwhile.
    pub async fn take_over_message(
        &self,
        clinic_id: &str,
        id: &str,
        prev: &DateTime<Utc>,
        until: &DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = (keys::clinic_pk(clinic_id), keys::message_sk(id));
        let values = Item::from([
            (":queued".to_owned(), attr(&Status::Queued)?),
            (":prev".to_owned(), ts(prev)),
            (":until".to_owned(), ts(until)),
        ]);
        self.update_if(
            key,
            "SET lease_until = :until",
            "#s = :queued AND lease_until = :prev",
            values,
        )
        .await
    }

    /// A page of the messages of a send or campaign run that are in `status` (held ones
    /// waiting for credits, unconfirmed ones the practice may resend), in id order, after the
    /// message `after_id`; the cursor is set while there may be more.
    pub async fn messages_in_status(
        &self,
        clinic_id: &str,
        (run_id, status): (&str, Status),
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Message>, Option<String>), StoreError> {
        let mut q = Query::under(
            None,
            keys::clinic_pk(clinic_id),
            keys::message_sk(&format!("{run_id}-")),
        );
        q.filter = Some("#s = :status");
        q.names = status_name();
        q.values.insert(":status".into(), attr(&status)?);
        let page = self.page(&q, after_id.map(keys::message_sk), limit).await?;
        messages_page(page)
    }

    /// Turns a held message into a queued one of this copy of the run, leased until `until`,
    /// once its credits are reserved; `Ok(false)` if another copy took it first.
    pub async fn release_held(
        &self,
        clinic_id: &str,
        id: &str,
        until: &DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = (keys::clinic_pk(clinic_id), keys::message_sk(id));
        let values = Item::from([
            (":queued".to_owned(), attr(&Status::Queued)?),
            (":held".to_owned(), attr(&Status::Held)?),
            (":until".to_owned(), ts(until)),
        ]);
        self.update_if(
            key,
            "SET #s = :queued, lease_until = :until",
            "#s = :held",
            values,
        )
        .await
    }

    /// Ends a held message unsent with `reason`; it joins its patient's history.
    pub async fn mark_not_sent(
        &self,
        clinic_id: &str,
        (id, patient_id): (&str, &str),
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = (keys::clinic_pk(clinic_id), keys::message_sk(id));
        let values = end_values(
            clinic_id,
            (id, patient_id),
            (Status::Held, Status::NotSent),
            reason,
            at,
        )?;
        self.update_if(key, END_UPDATE, END_CONDITION, values).await
    }

    /// A page of the messages of one send or campaign run, in id order.
    pub async fn request_messages_page(
        &self,
        clinic_id: &str,
        request_id: &str,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Message>, Option<String>), StoreError> {
        let q = Query::under(
            None,
            keys::clinic_pk(clinic_id),
            keys::message_sk(&format!("{request_id}-")),
        );
        let page = self.page(&q, after_id.map(keys::message_sk), limit).await?;
        messages_page(page)
    }

    /// Calls `f` with every message of a send or run, a page at a time (never all at once).
    pub async fn each_request_message(
        &self,
        clinic_id: &str,
        request_id: &str,
        f: impl FnMut(&Message),
    ) -> Result<(), StoreError> {
        self.each_read(vec![request_query(clinic_id, request_id)], f)
            .await
    }

    /// Calls `f` with what became of every message of a send or run, a page at a time, reading
    /// [`Outcome::FIELDS`] of each and not its text, in [`OUTCOME_READS`] reads side by side.
    pub async fn each_request_outcome(
        &self,
        clinic_id: &str,
        request_id: &str,
        f: impl FnMut(&Outcome),
    ) -> Result<(), StoreError> {
        let names: Vec<String> = (0..Outcome::FIELDS.len())
            .map(|i| format!("#f{i}"))
            .collect();
        let projection = names.join(", ");
        let names: HashMap<String, String> = names
            .into_iter()
            .zip(Outcome::FIELDS.map(str::to_owned))
            .collect();
        let reads = request_ranges(request_id, OUTCOME_READS)
            .into_iter()
            .map(|range| {
                let mut q = request_query(clinic_id, request_id);
                q.sk_between = Some(range);
                q.projection = Some(projection.clone());
                q.names = names.clone();
                q
            })
            .collect();
        self.each_read(reads, f).await
    }

    /// Calls `f` with every item the queries find, a page at a time, the queries read side by
    /// side; an item whose sort key is the last of its query's range is left out (it is the
    /// next range's first: see [`request_ranges`]).
    async fn each_read<T: serde::de::DeserializeOwned>(
        &self,
        reads: Vec<Query<'_>>,
        mut f: impl FnMut(&T),
    ) -> Result<(), StoreError> {
        let pages = reads.into_iter().map(|q| {
            let left_out = q.sk_between.as_ref().map(|(_, last)| last.clone());
            let pages = futures::stream::try_unfold(Some((q, None)), |read| async move {
                let Some((q, start)) = read else {
                    return Ok(None);
                };
                let page = self.query(&q, start).await?;
                let next = page.last_key.map(|k| (q, Some(k)));
                Ok::<_, StoreError>(Some((page.items, next)))
            });
            Box::pin(pages.map_ok(move |mut items| {
                if left_out.is_some() {
                    items.retain(|item| sort_key(Some(item)) != left_out);
                }
                items
            }))
        });
        let mut pages = futures::stream::select_all(pages);
        while let Some(items) = pages.try_next().await? {
            for item in items {
                f(&from_item(item)?);
            }
        }
        Ok(())
    }
}

/// How many reads count a run's messages side by side.
const OUTCOME_READS: usize = 4;

/// Every message of a send or run, 1,000 a read.
fn request_query(clinic_id: &str, request_id: &str) -> Query<'static> {
    let mut q = Query::under(
        None,
        keys::clinic_pk(clinic_id),
        keys::message_sk(&format!("{request_id}-")),
    );
    q.limit = 1000;
    q
}

/// `parts` ranges of sort keys (each from its first to its last, inclusive) that together hold
/// every message of a request, each in one range whatever its id: a range's last key is the
/// next one's first, which a read of the range leaves out, and the last ends at
/// `<request id>.`, the first key after every `<request id>-…`. They split at the hex digits
/// that spread a run's messages evenly (`<run id>-<16 hex>`).
fn request_ranges(request_id: &str, parts: usize) -> Vec<(String, String)> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let first = keys::message_sk(&format!("{request_id}-"));
    let parts = parts.clamp(1, HEX.len());
    let mut bounds = vec![first.clone()];
    bounds.extend((1..parts).map(|i| format!("{first}{}", char::from(HEX[16 * i / parts]))));
    bounds.push(keys::message_sk(&format!("{request_id}.")));
    bounds
        .windows(2)
        .map(|w| (w[0].clone(), w[1].clone()))
        .collect()
}

fn messages_page(page: Page) -> Result<(Vec<Message>, Option<String>), StoreError> {
    let Page { items, next_after } = page;
    let list = items
        .into_iter()
        .map(from_item)
        .collect::<Result<Vec<_>, _>>()?;
    let next = next_after.and_then(|sk| sk.strip_prefix(keys::MESSAGE_PREFIX).map(str::to_owned));
    Ok((list, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each message of a request is in one range read, whatever its id, and nothing else is.
    #[test]
    fn request_ranges_hold_each_message_of_the_request_once() {
        let run = "01JRUN";
        let under = [
            "",
            "0",
            "0000000000000000",
            "3fffffffffffffff",
            "4",
            "4000000000000000",
            "7f",
            "8",
            "9a",
            "a0",
            "bf",
            "c",
            "c0",
            "ffffffffffffffff",
            "g",
            "zz",
            "A",
            "-",
            ".",
            "~",
        ];
        let others = [
            "01JRUN.",
            "01JRUN",
            "01JRUN0-1",
            "01JRUN,x",
            "01JRUN/x",
            "01JRUNX-1",
        ];
        for parts in [1, 2, 4, 16, 40] {
            let ranges = request_ranges(run, parts);
            assert_eq!(ranges.len(), parts.min(16));
            let reads_of = |id: &str| {
                let sk = keys::message_sk(id);
                ranges
                    .iter()
                    .filter(|(first, last)| *first <= sk && sk <= *last && sk != *last)
                    .count()
            };
            for id in under {
                assert_eq!(reads_of(&format!("{run}-{id}")), 1, "{run}-{id} in {parts}");
            }
            for id in others {
                assert_eq!(reads_of(id), 0, "{id} in {parts}");
            }
        }
        // Evenly over a run's ids.
        let quarters: Vec<_> = request_ranges(run, 4).into_iter().map(|r| r.1).collect();
        assert_eq!(
            quarters[..3],
            ["MESSAGE#01JRUN-4", "MESSAGE#01JRUN-8", "MESSAGE#01JRUN-c"]
        );
    }
}
