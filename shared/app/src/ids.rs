//! New ids: UUID v7, so ids sort by creation time and lists come out oldest first.

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
