//! Referrers (the doctors and practices who send patients) and the referrals they made.

use crate::phone::{Country, optional_mobile};
use crate::{FieldError, email, text};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// A referrer as a client sends it (create, or the merged result of a PATCH).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferrerInput {
    pub name: Option<String>,
    pub practice: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReferrerFields {
    pub name: String,
    pub practice: Option<String>,
    pub email: Option<String>,
    /// E.164.
    pub mobile: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Referrer {
    pub id: String,
    #[serde(flatten)]
    pub fields: ReferrerFields,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ReferrerInput {
    pub fn validate(self, country: Country) -> Result<ReferrerFields, FieldError> {
        Ok(ReferrerFields {
            name: text::required("name", self.name.as_deref().unwrap_or(""), 120)?,
            practice: text::optional("practice", self.practice.as_deref(), 120)?,
            email: email::optional("email", self.email.as_deref())?,
            mobile: optional_mobile("mobile", self.mobile.as_deref(), country)?,
        })
    }
}

/// `POST /patients/{id}/referrals` as a client sends it.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralInput {
    pub referrer_id: Option<String>,
    pub date: Option<NaiveDate>,
}

/// A patient's referral by a referrer on a date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Referral {
    pub id: String,
    pub patient_id: String,
    pub referrer_id: String,
    pub date: NaiveDate,
    pub created_at: DateTime<Utc>,
}

impl ReferralInput {
    /// Checks the referral; `today` (the clinic's date) bounds its date.
    pub fn validate(self, today: NaiveDate) -> Result<(String, NaiveDate), FieldError> {
        let referrer_id = text::required(
            "referrer_id",
            self.referrer_id.as_deref().unwrap_or_default(),
            64,
        )?;
        let date = self.date.ok_or_else(|| FieldError::required("date"))?;
        if date > today {
            return Err(FieldError::new(
                "date",
                "out_of_range",
                "date must not be in the future",
            ));
        }
        Ok((referrer_id, date))
    }
}
