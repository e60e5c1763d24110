//! New ids: UUID v7, so ids sort by creation time and lists come out oldest first.

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The sort key under `prefix` before every id [`new_id`] made in the last `age`: ids come from
/// the system clock (not the app's), so this boundary does too.
pub fn made_within(prefix: &str, age: std::time::Duration) -> String {
    let since = std::time::SystemTime::now()
        .checked_sub(age)
        .unwrap_or(std::time::UNIX_EPOCH);
    crate::store::keys::id_boundary(prefix, since.into())
}
