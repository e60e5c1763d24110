//! What erasing a patient changes besides the patient record: their messages (and their
//! contacts'), the notifications about their replies, the upload rows that named them, and the
//! automatic-answer records of their numbers. Counts, statuses, credits and dates stay, so
//! statistics still add up; the personal parts go.

use super::uploads::{Chunk, failed_row_mobile, patient_ref, value_ref};
use super::{
    FailedRow, GSI1, GSI2, Item, MatchedRow, Query, SortKey, Store, StoreError, keys, s,
    upload_ref_keys,
};
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::{BTreeMap, HashMap};
use tidings_domain::phone::Country;
use tidings_domain::upload::UploadRow;

/// The attributes of a message that hold what a person wrote, was sent, or is reached at.
const MESSAGE_TEXT: [&str; 5] = ["to", "from", "body", "subject", "html_body"];

/// What identifies the person in upload rows.
#[derive(Debug, Clone)]
pub struct Person {
    pub patient_id: String,
    pub external_id: Option<String>,
    /// In E.164.
    pub mobiles: Vec<String>,
    pub emails: Vec<String>,
    /// The clinic's, as its uploads' numbers are read.
    pub country: Country,
}

/// A reason without what follows its first `:` (a carrier's or a mail server's words can quote
/// the number or the address): `bounced: 550 <ann@x> unknown` keeps `bounced`.
fn reason_kind(reason: &str) -> String {
    reason
        .split_once(':')
        .map_or(reason, |(kind, _)| kind)
        .trim()
        .to_owned()
}

fn str_attr<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

impl Store {
    /// The ids of every message in the person's history (theirs and their contacts').
    pub async fn history_ids(
        &self,
        clinic_id: &str,
        patient_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let q = Query::under(
            Some(GSI1),
            keys::patient_messages_gsi(clinic_id, patient_id),
            "",
        );
        Ok(ids_under(self.query_all(q).await?, keys::MESSAGE_PREFIX))
    }

    /// Removes a message's text and addresses, and cuts its reasons (and those of its status
    /// history) to their kind. Read and written back conditionally, so a receipt that lands
    /// meanwhile is kept.
    pub async fn scrub_message(&self, clinic_id: &str, id: &str) -> Result<(), StoreError> {
        for _ in 0..5 {
            let Some(item) = self
                .get(keys::clinic_pk(clinic_id), keys::message_sk(id))
                .await?
            else {
                return Ok(());
            };
            let mut next = item.clone();
            for name in MESSAGE_TEXT {
                next.remove(name);
            }
            if let Some(r) = str_attr(&item, "reason") {
                next.insert("reason".into(), s(reason_kind(r)));
            }
            if let Some(AttributeValue::L(events)) = item.get("events") {
                let scrubbed = events
                    .iter()
                    .map(|e| match e {
                        AttributeValue::M(m) => {
                            let mut m = m.clone();
                            if let Some(AttributeValue::S(r)) = m.get("reason") {
                                let kind = reason_kind(r);
                                m.insert("reason".into(), s(kind));
                            }
                            AttributeValue::M(m)
                        }
                        other => other.clone(),
                    })
                    .collect();
                next.insert("events".into(), AttributeValue::L(scrubbed));
            }
            next.insert("erased".into(), AttributeValue::Bool(true));
            if next == item {
                return Ok(());
            }
            let (condition, values) = match item.get("updated_at") {
                Some(u) => (
                    "updated_at = :u",
                    Some(Item::from([(":u".to_owned(), u.clone())])),
                ),
                None => ("attribute_not_exists(updated_at)", None),
            };
            if self.put_if(next, condition, values).await? {
                return Ok(());
            }
        }
        Err(StoreError::Collision)
    }

    /// The notifications about the patient (their replies, opt-outs, answers). Once the
    /// clinic's notifications are indexed by patient, read from `gsi2` (what the patient has,
    /// whatever the clinic has), together with the last ten minutes' notifications read from
    /// the table (an index follows its writes by a moment; the table does not); before that,
    /// every notification of the clinic is read with a filter.
    pub async fn notification_ids_of(
        &self,
        clinic_id: &str,
        patient_id: &str,
    ) -> Result<Vec<String>, StoreError> {
        let pk = keys::clinic_pk(clinic_id);
        let indexed = self
            .get(pk.clone(), keys::NOTIFICATIONS_INDEXED_SK.into())
            .await?
            .is_some();
        let mut q = Query::under(None, pk, "NOTIFICATION#");
        q.filter = Some("patient_id = :p");
        q.values.insert(":p".into(), s(patient_id));
        if !indexed {
            return Ok(ids_under(self.query_all(q).await?, "NOTIFICATION#"));
        }
        let recent = crate::ids::made_within("NOTIFICATION#", RECENT_NOTIFICATIONS);
        q.sk_between = Some((recent, "NOTIFICATION#~".to_owned()));
        let mut ids = ids_under(self.query_all(q).await?, "NOTIFICATION#");
        let by_patient = Query::under(
            Some(GSI2),
            keys::patient_notifications_gsi(clinic_id, patient_id),
            "NOTIFICATION#",
        );
        ids.extend(ids_under(
            self.query_all(by_patient).await?,
            "NOTIFICATION#",
        ));
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    /// Puts every notification about a patient that is not yet in `gsi2` there, then marks the
    /// clinic's notifications indexed (`tidings-admin notifications index`): how many were read
    /// and how many indexed. A notification written meanwhile is written indexed.
    pub async fn index_notifications(&self, clinic_id: &str) -> Result<(usize, usize), StoreError> {
        let pk = keys::clinic_pk(clinic_id);
        let q = Query::under(None, pk.clone(), "NOTIFICATION#");
        let all: Vec<Unindexed> = self.query_all(q).await?;
        let mut indexed = 0;
        for n in &all {
            let Some(patient_id) = n.patient_id.as_deref().filter(|_| n.gsi2pk.is_none()) else {
                continue;
            };
            let values = Item::from([
                (
                    ":p".to_owned(),
                    s(keys::patient_notifications_gsi(clinic_id, patient_id)),
                ),
                (":s".to_owned(), s(&n.sk)),
            ]);
            self.update_if(
                (pk.clone(), n.sk.clone()),
                "SET gsi2pk = :p, gsi2sk = :s",
                "attribute_exists(pk)",
                values,
            )
            .await?;
            indexed += 1;
        }
        self.mark_indexed(clinic_id, keys::NOTIFICATIONS_INDEXED_SK)
            .await?;
        Ok((all.len(), indexed))
    }

    /// Marks an index of the clinic's as complete (`sk`: [`keys::NOTIFICATIONS_INDEXED_SK`],
    /// [`keys::UPLOADS_INDEXED_SK`]).
    pub(crate) async fn mark_indexed(&self, clinic_id: &str, sk: &str) -> Result<(), StoreError> {
        let mut item = Item::new();
        item.insert("pk".into(), s(keys::clinic_pk(clinic_id)));
        item.insert("sk".into(), s(sk));
        self.put(item).await
    }

    /// Empties a notification's number and text.
    pub async fn scrub_notification(&self, clinic_id: &str, id: &str) -> Result<(), StoreError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(keys::clinic_pk(clinic_id)))
            .key("sk", s(keys::notification_sk(id)))
            .update_expression("SET #f = :empty, body = :empty, erased = :t")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#f", "from")
            .expression_attribute_values(":empty", s(""))
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .send()
            .await;
        super::conditional(
            "UpdateItem",
            res,
            UpdateItemError::is_conditional_check_failed_exception,
        )
        .map(|_| ())
    }

    /// Empties the stored upload rows that name the person: matched rows of the patient, and
    /// failed rows with their external id, mobile or email. Once the clinic's uploads are
    /// referenced by who they name, only the chunks the person's references point to are read
    /// (and those references deleted); before that, every chunk of the clinic.
    pub async fn scrub_upload_rows(&self, clinic_id: &str, p: &Person) -> Result<(), StoreError> {
        let pk = keys::clinic_pk(clinic_id);
        let indexed = self
            .get(pk.clone(), keys::UPLOADS_INDEXED_SK.into())
            .await?
            .is_some();
        if !indexed {
            return self.scrub_every_upload(clinic_id, p).await;
        }
        let mut references = vec![patient_ref(&p.patient_id)];
        references.extend(p.external_id.iter().map(|v| value_ref("external_id", v)));
        references.extend(p.mobiles.iter().map(|v| value_ref("mobile", v)));
        references.extend(p.emails.iter().map(|v| value_ref("email", v)));
        let mut chunks: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in &references {
            let q = Query::under(None, pk.clone(), keys::upload_refs_prefix(r));
            for k in self.query_all::<SortKey>(q).await? {
                if let Some(chunk) = keys::upload_chunk_of_ref(r, &k.sk) {
                    chunks.entry(chunk).or_default().push(k.sk);
                }
            }
        }
        for (chunk, refs) in chunks {
            // A chunk not (yet) there keeps its references: an upload still being written.
            let Some(item) = self.get(pk.clone(), chunk).await? else {
                continue;
            };
            if let Some(next) = scrub_chunk(&item, p) {
                self.put(next).await?;
            }
            for sk in refs {
                self.delete(pk.clone(), sk).await?;
            }
        }
        Ok(())
    }

    /// [`Store::scrub_upload_rows`] for a clinic whose uploads are not referenced: every chunk.
    async fn scrub_every_upload(&self, clinic_id: &str, p: &Person) -> Result<(), StoreError> {
        let q = Query::under(None, keys::clinic_pk(clinic_id), "UPLOAD#");
        let mut start = None;
        loop {
            let page = self.query(&q, start).await?;
            for item in page.items {
                if let Some(next) = scrub_chunk(&item, p) {
                    self.put(next).await?;
                }
            }
            match page.last_key {
                Some(k) => start = Some(k),
                None => return Ok(()),
            }
        }
    }

    /// References every stored upload row of the clinic by who it names, then marks the
    /// clinic's uploads referenced (`tidings-admin uploads index`): how many chunks were read
    /// and how many references written. An upload stored meanwhile writes its own.
    pub async fn index_uploads(
        &self,
        clinic_id: &str,
        country: Country,
    ) -> Result<(usize, usize), StoreError> {
        let q = Query::under(None, keys::clinic_pk(clinic_id), "UPLOAD#");
        let mut start = None;
        let (mut chunks, mut written) = (0, 0);
        loop {
            let page = self.query(&q, start).await?;
            for item in page.items {
                let Some(sk) = str_attr(&item, "sk").map(str::to_owned) else {
                    continue;
                };
                let mut parts = sk.splitn(4, '#').skip(1);
                let (Some(id), Some(kind), Some(n)) = (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                let Ok(n) = n.parse::<usize>() else { continue };
                let refs = match kind {
                    "MATCHED" => upload_ref_keys(
                        id,
                        (kind, n),
                        &super::from_item::<Chunk<MatchedRow>>(item)?.rows,
                        country,
                    ),
                    "FAILED" => upload_ref_keys(
                        id,
                        (kind, n),
                        &super::from_item::<Chunk<FailedRow>>(item)?.rows,
                        country,
                    ),
                    _ => continue,
                };
                self.put_upload_refs(clinic_id, &refs).await?;
                chunks += 1;
                written += refs.len();
            }
            match page.last_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        self.mark_indexed(clinic_id, keys::UPLOADS_INDEXED_SK)
            .await?;
        Ok((chunks, written))
    }

    /// The ids of the clinic's campaign runs still sending or paused: their queued and held
    /// messages are not in anyone's history yet. Once the clinic's runs are indexed, read from
    /// the open runs' index (as many as are unfinished, however many the clinic ever had);
    /// before that, every run of the clinic with a filter.
    pub async fn unfinished_run_ids(&self, clinic_id: &str) -> Result<Vec<String>, StoreError> {
        let pk = keys::clinic_pk(clinic_id);
        let indexed = self
            .get(pk.clone(), keys::RUNS_INDEXED_SK.into())
            .await?
            .is_some();
        if indexed {
            return self.gsi2_sort_keys(keys::open_runs_gsi(clinic_id)).await;
        }
        let runs: Vec<RunId> = self.query_all(unfinished_runs(clinic_id)).await?;
        Ok(runs.into_iter().map(|r| r.id).collect())
    }

    /// Puts every unfinished run of the clinic that is not yet on the open runs' index there,
    /// then marks the clinic's runs indexed (`tidings-admin runs index`): how many unfinished
    /// runs were read and how many indexed. A run that ends meanwhile is left off (its end
    /// wins); one started meanwhile is started indexed.
    pub async fn index_runs(&self, clinic_id: &str) -> Result<(usize, usize), StoreError> {
        let runs: Vec<UnindexedRun> = self.query_all(unfinished_runs(clinic_id)).await?;
        let mut indexed = 0;
        for r in runs.iter().filter(|r| r.gsi2pk.is_none()) {
            let values = Item::from([
                (":p".to_owned(), s(keys::open_runs_gsi(clinic_id))),
                (":id".to_owned(), s(&r.id)),
                (":sending".to_owned(), s("sending")),
                (":paused".to_owned(), s("paused")),
            ]);
            if self
                .update_if(
                    (keys::clinic_pk(clinic_id), r.sk.clone()),
                    "SET gsi2pk = :p, gsi2sk = :id",
                    "#s IN (:sending, :paused)",
                    values,
                )
                .await?
            {
                indexed += 1;
            }
        }
        self.mark_indexed(clinic_id, keys::RUNS_INDEXED_SK).await?;
        Ok((runs.len(), indexed))
    }

    /// Ends a held message `not_sent` (reason `erased`) so no top-up sends it, and scrubs it;
    /// a queued or settled one is scrubbed. Nothing when there is no such message.
    pub async fn erase_unsent_message(
        &self,
        clinic_id: &str,
        id: &str,
        patient_id: &str,
    ) -> Result<(), StoreError> {
        let Some(item) = self
            .get(keys::clinic_pk(clinic_id), keys::message_sk(id))
            .await?
        else {
            return Ok(());
        };
        if str_attr(&item, "status") == Some("held") {
            self.mark_not_sent(clinic_id, (id, patient_id), "erased", self.now())
                .await?;
        }
        self.scrub_message(clinic_id, id).await
    }

    /// Forgets that a number got automatic answers.
    pub async fn forget_auto_answers(&self, clinic_id: &str, e164: &str) -> Result<(), StoreError> {
        for kind in ["help", "opt_out", "opt_in"] {
            self.delete(keys::clinic_pk(clinic_id), keys::auto_answer_sk(e164, kind))
                .await?;
        }
        Ok(())
    }
}

/// The ids in sort keys `<prefix><id>`.
fn ids_under(keys: Vec<SortKey>, prefix: &str) -> Vec<String> {
    keys.into_iter()
        .filter_map(|k| k.sk.strip_prefix(prefix).map(str::to_owned))
        .collect()
}

/// How far back erasure reads the table itself for notifications, beside the index.
const RECENT_NOTIFICATIONS: std::time::Duration = std::time::Duration::from_secs(600);

/// A notification as the index backfill reads it.
#[derive(serde::Deserialize)]
struct Unindexed {
    sk: String,
    patient_id: Option<String>,
    gsi2pk: Option<String>,
}

/// The clinic's runs still sending or paused, read from the table with a filter.
fn unfinished_runs(clinic_id: &str) -> Query<'static> {
    let mut q = Query::under(None, keys::clinic_pk(clinic_id), "RUN#");
    q.filter = Some("#s IN (:sending, :paused)");
    q.names = super::status_name();
    q.values.insert(":sending".into(), s("sending"));
    q.values.insert(":paused".into(), s("paused"));
    q
}

#[derive(serde::Deserialize)]
struct RunId {
    id: String,
}

/// An unfinished run as the index backfill reads it.
#[derive(serde::Deserialize)]
struct UnindexedRun {
    sk: String,
    id: String,
    gsi2pk: Option<String>,
}

/// An upload chunk with the rows that name the person emptied; `None` when none does (or the
/// item is not a chunk of rows).
fn scrub_chunk(item: &Item, p: &Person) -> Option<Item> {
    let sk = str_attr(item, "sk")?;
    // Matched rows hold optional addresses (null); failed rows the file's text ("").
    if sk.contains("#MATCHED#") {
        scrub_rows(item, AttributeValue::Null(true), |row| {
            (str_attr(row, "patient_id") == Some(p.patient_id.as_str()))
                .then_some(&["mobile", "email"][..])
        })
    } else if sk.contains("#FAILED#") {
        scrub_rows(item, s(""), |row| {
            let same = |name: &str, values: &[String]| {
                str_attr(row, name).is_some_and(|v| {
                    let v = match name {
                        "mobile" => failed_row_mobile(v, p.country),
                        _ => v.trim().to_owned(),
                    };
                    !v.is_empty() && values.iter().any(|x| x.eq_ignore_ascii_case(&v))
                })
            };
            let ext: Vec<String> = p.external_id.iter().cloned().collect();
            (same("external_id", &ext) || same("mobile", &p.mobiles) || same("email", &p.emails))
                .then_some(&UploadRow::COLUMNS[..])
        })
    } else {
        None
    }
}

/// A chunk with the fields `pick` names set to `empty` in the rows it picks; `None` when no
/// row is.
fn scrub_rows(
    item: &Item,
    empty: AttributeValue,
    pick: impl Fn(&HashMap<String, AttributeValue>) -> Option<&'static [&'static str]>,
) -> Option<Item> {
    let Some(AttributeValue::L(rows)) = item.get("rows") else {
        return None;
    };
    let mut changed = false;
    let rows = rows
        .iter()
        .map(|r| match r {
            AttributeValue::M(row) => match pick(row) {
                Some(fields) => {
                    let mut row = row.clone();
                    for f in fields {
                        if row.get(*f).is_some_and(|v| *v != empty) {
                            row.insert((*f).to_owned(), empty.clone());
                            changed = true;
                        }
                    }
                    AttributeValue::M(row)
                }
                None => r.clone(),
            },
            other => other.clone(),
        })
        .collect();
    changed.then(|| {
        let mut next = item.clone();
        next.insert("rows".into(), AttributeValue::L(rows));
        next
    })
}
