//! What an unsubscribe link does: the patient stops receiving campaign email (marketing,
//! recall, greetings); a contact stops receiving the patient's copies. Reminders to the
//! patient are not campaign email and continue.

use crate::ServiceError;
use crate::store::Store;
use serde_json::json;
use tidings_domain::actor::Actor;
use tidings_domain::message_template::Channel;
use tidings_domain::unsubscribe::Token;

/// Opts the token's person out, recording `by` (the link, or the email provider's complaint
/// report). A person deleted since the email was sent has nothing left to opt out of: that is
/// success too.
pub async fn apply(store: &Store, t: &Token, by: &Actor) -> Result<(), ServiceError> {
    let channel = match t.channel {
        Channel::Email => "email",
        Channel::Sms => "sms",
    };
    let res = match &t.contact_id {
        Some(contact) => super::contacts::update(
            store,
            &t.clinic_id,
            &t.patient_id,
            contact,
            &json!({"receive_reminders_and_campaigns": false}),
            by,
        )
        .await
        .map(|_| ()),
        None => super::patients::update(
            store,
            &t.clinic_id,
            &t.patient_id,
            &json!({"receive_campaigns": {channel: false}}),
            by,
        )
        .await
        .map(|_| ()),
    };
    match res {
        Ok(()) | Err(ServiceError::NotFound(_)) => {
            tracing::info!(
                clinic_id = t.clinic_id,
                patient_id = t.patient_id,
                "unsubscribed"
            );
            Ok(())
        }
        Err(e) => Err(e),
    }
}
