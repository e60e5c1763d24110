//! Audiences: who a report lists, resolved when it runs, a page at a time.
//!
//! Every member comes with its position in the report's natural order (patient id,
//! appointment-book key, referral key), so a run can checkpoint after any page and resume there.

use crate::ServiceError;
use crate::store::{AppointmentFilter, Store};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use futures::{StreamExt, TryStreamExt};
use std::collections::{HashMap, HashSet};
use tidings_domain::appointment::Appointment;
use tidings_domain::clinic::Clinic;
use tidings_domain::patient::{Patient, PatientFilter};
use tidings_domain::referrer::Referrer;
use tidings_domain::report::{AppointmentCriteria, PatientCriteria, ReportSpec};

/// People read (and, in a campaign run, messages planned) per page.
pub const PAGE: usize = 500;
/// A recall page's patients looked up on the index of their appointments at once.
const LOOKUPS: usize = 32;

/// One person a report lists.
#[derive(Debug, Clone)]
pub enum Member {
    /// A patient, with the appointment that put them in an appointment report.
    Patient {
        patient: Box<Patient>,
        appointment: Option<Box<Appointment>>,
    },
    Referrer(Box<Referrer>),
}

/// A page of members, each with its position, and the position to continue after.
pub struct AudiencePage {
    pub members: Vec<(String, Member)>,
    pub next: Option<String>,
}

/// A report made ready to run at one moment.
pub enum Audience {
    Patients {
        criteria: PatientCriteria,
        today: NaiveDate,
        clinic_id: String,
    },
    Appointments {
        criteria: AppointmentCriteria,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        clinic_id: String,
    },
    Recall {
        /// Who was seen since the cutoff or is booked, read from the appointment book; `None`
        /// when the clinic's appointments are on their patients' index (each patient of a page
        /// is looked up there instead).
        seen: Option<HashSet<String>>,
        since: DateTime<Utc>,
        clinic_id: String,
    },
    Referrals {
        from: NaiveDate,
        to: NaiveDate,
        clinic_id: String,
    },
    /// An uploaded list: its matched rows, a chunk per page, with the list's contact details.
    Upload {
        upload_id: String,
        chunks: usize,
        clinic_id: String,
    },
}

fn local_midnight(tz: chrono_tz::Tz, d: NaiveDate) -> DateTime<Utc> {
    tz.from_local_datetime(&d.and_time(NaiveTime::MIN))
        .earliest()
        .map_or_else(
            || d.and_time(NaiveTime::MIN).and_utc(),
            |t| t.with_timezone(&Utc),
        )
}

impl Audience {
    /// Fixes what "now" means for the run: today's date, the appointment window, and (for a
    /// recall) who has been seen since the cutoff or is booked.
    pub async fn prepare(
        store: &Store,
        clinic: &Clinic,
        spec: &ReportSpec,
        now: DateTime<Utc>,
    ) -> Result<Self, ServiceError> {
        let clinic_id = clinic.id.clone();
        let tz: chrono_tz::Tz = clinic.fields.time_zone;
        let today = now.with_timezone(&tz).date_naive();
        Ok(match spec {
            ReportSpec::Patient(c) => Audience::Patients {
                criteria: c.clone(),
                today,
                clinic_id,
            },
            ReportSpec::Appointment(c) => {
                let (from, to) = c.dates(today);
                Audience::Appointments {
                    criteria: c.clone(),
                    from: local_midnight(tz, from),
                    to: local_midnight(tz, to + Duration::days(1)),
                    clinic_id,
                }
            }
            ReportSpec::Recall(c) => {
                let since = c.cutoff(now);
                let seen = match store.appointments_indexed(&clinic_id).await? {
                    true => None,
                    false => Some(store.patients_seen_since(&clinic_id, since).await?),
                };
                Audience::Recall {
                    seen,
                    since,
                    clinic_id,
                }
            }
            ReportSpec::Referral(c) => Audience::Referrals {
                from: c.from,
                to: c.to,
                clinic_id,
            },
        })
    }

    /// Whether the audience lists each person once, so that two pages never plan a message
    /// with the same id: a patient list, in patient-id order.
    pub fn lists_each_once(&self) -> bool {
        matches!(self, Audience::Patients { .. } | Audience::Recall { .. })
    }

    /// The members of `first` (a page read after some position) and of the pages after it,
    /// up to `end` (the position the next page starts after; `None`: the end of the audience):
    /// a page as another copy of the run claimed it, when people joined or left it since.
    pub async fn through(
        &self,
        store: &Store,
        first: AudiencePage,
        end: Option<&str>,
    ) -> Result<Vec<(String, Member)>, ServiceError> {
        // An upload's pages are its chunks, whatever the rows in them.
        let upload = matches!(self, Audience::Upload { .. });
        let (mut members, mut next) = (first.members, first.next);
        while let Some(after) = next.filter(|n| !upload && end.is_none_or(|e| n.as_str() < e)) {
            let page = self.page(store, Some(&after), PAGE).await?;
            members.extend(page.members);
            next = page.next;
        }
        if let (false, Some(end)) = (upload, end) {
            members.retain(|(pos, _)| pos.as_str() <= end);
        }
        Ok(members)
    }

    /// Up to about `limit` members after position `after`.
    pub async fn page(
        &self,
        store: &Store,
        after: Option<&str>,
        limit: usize,
    ) -> Result<AudiencePage, ServiceError> {
        match self {
            Audience::Patients {
                criteria,
                today,
                clinic_id,
            } => {
                let filter = PatientFilter {
                    gender: criteria.gender,
                    practitioner_id: criteria.practitioner_id.clone(),
                    ..Default::default()
                };
                let page = store
                    .list_patients(clinic_id, &filter, after, limit)
                    .await?;
                Ok(AudiencePage {
                    members: page
                        .patients
                        .into_iter()
                        .filter(|p| criteria.matches(&p.fields, *today))
                        .map(|p| (p.id.clone(), patient(p, None)))
                        .collect(),
                    next: page.next_after,
                })
            }
            Audience::Recall {
                seen,
                since,
                clinic_id,
            } => {
                let page = store
                    .list_patients(clinic_id, &PatientFilter::default(), after, limit)
                    .await?;
                let unseen: Vec<bool> = match seen {
                    Some(seen) => page
                        .patients
                        .iter()
                        .map(|p| !seen.contains(&p.id))
                        .collect(),
                    None => {
                        let (ids, since) = (page.patients.iter().map(|p| p.id.clone()), *since);
                        futures::stream::iter(ids.collect::<Vec<_>>())
                            .map(|id| async move {
                                let seen = store.patient_seen_since(clinic_id, &id, since).await;
                                seen.map(|seen| !seen)
                            })
                            .buffered(LOOKUPS)
                            .try_collect()
                            .await?
                    }
                };
                Ok(AudiencePage {
                    members: page
                        .patients
                        .into_iter()
                        .zip(unseen)
                        .filter(|(_, unseen)| *unseen)
                        .map(|(p, _)| (p.id.clone(), patient(p, None)))
                        .collect(),
                    next: page.next_after,
                })
            }
            Audience::Appointments {
                criteria,
                from,
                to,
                clinic_id,
            } => {
                let filter = AppointmentFilter {
                    practitioner_id: criteria.practitioner_id.clone(),
                    statuses: criteria.statuses.clone(),
                };
                let page = store
                    .appointments_between(clinic_id, *from, *to, &filter, after, limit)
                    .await?;
                let mut members = Vec::new();
                let mut patients: HashMap<String, Option<Patient>> = HashMap::new();
                for a in page.appointments {
                    if !criteria.matches(&a.fields) {
                        continue;
                    }
                    let pid = a.fields.patient_id.clone();
                    if !patients.contains_key(&pid) {
                        let p = store.get_patient(clinic_id, &pid).await?.map(|r| r.patient);
                        patients.insert(pid.clone(), p);
                    }
                    // A deleted patient is no longer anyone's audience.
                    if let Some(Some(p)) = patients.get(&pid) {
                        let pos = crate::store::keys::appointment_time_sk(&a.fields.start, &a.id);
                        members.push((pos, patient(p.clone(), Some(a))));
                    }
                }
                Ok(AudiencePage {
                    members,
                    next: page.next_after,
                })
            }
            Audience::Upload {
                upload_id,
                chunks,
                clinic_id,
            } => {
                let n = match after {
                    Some(a) => a.parse::<usize>().map_or(*chunks, |n| n + 1),
                    None => 0,
                };
                if n >= *chunks {
                    return Ok(AudiencePage {
                        members: Vec::new(),
                        next: None,
                    });
                }
                let mut members = Vec::new();
                for row in store.matched_chunk(clinic_id, upload_id, n).await? {
                    // A patient deleted since the upload is no longer anyone's audience.
                    if let Some(r) = store.get_patient(clinic_id, &row.patient_id).await? {
                        let mut p = r.patient;
                        p.fields.mobile = row.mobile.or(p.fields.mobile);
                        p.fields.email = row.email.or(p.fields.email);
                        members.push((format!("{n:05}:{:06}", row.line), patient(p, None)));
                    }
                }
                Ok(AudiencePage {
                    members,
                    next: (n + 1 < *chunks).then(|| format!("{n:05}")),
                })
            }
            Audience::Referrals {
                from,
                to,
                clinic_id,
            } => {
                let page = store
                    .referrals_between(clinic_id, *from, *to, after, limit)
                    .await?;
                let mut referrers: HashMap<String, Option<Referrer>> = HashMap::new();
                let mut members = Vec::new();
                for r in page.referrals {
                    if !referrers.contains_key(&r.referrer_id) {
                        let found = store.get_referrer(clinic_id, &r.referrer_id).await?;
                        referrers.insert(r.referrer_id.clone(), found);
                    }
                    if let Some(Some(found)) = referrers.get(&r.referrer_id) {
                        let pos = crate::store::keys::referral_sk(&r.date, &r.id);
                        members.push((pos, Member::Referrer(Box::new(found.clone()))));
                    }
                }
                Ok(AudiencePage {
                    members,
                    next: page.next_after,
                })
            }
        }
    }
}

fn patient(p: Patient, appointment: Option<Appointment>) -> Member {
    Member::Patient {
        patient: Box::new(p),
        appointment: appointment.map(Box::new),
    }
}
