//! [`Sink`]: where a reflector's events go besides the readiness gate. The reflectors
//! (`cache`) call it; its implementations live with what they feed (the hub and the
//! fleet view in `cache`, the repository clientset in `repo`), and the composition roots
//! (`serve`, `demo`, the operator's repository watch) hand each reflector its sink.
//! This module names no other module of the crate, so the reflectors and the clientset
//! need not know each other.

/// What a kind's events feed besides the readiness gate. Called from the kind's event
/// loop: implementations must not block (no I/O, no awaiting).
pub trait Sink<K>: Send + Sync {
    /// A (re)list began.
    fn init(&self) {}
    /// One object of the (re)list.
    fn init_apply(&self, obj: &K);
    /// The (re)list is complete: whatever `init_apply` did not see is gone.
    fn init_done(&self);
    fn apply(&self, obj: &K);
    fn delete(&self, obj: &K);
    /// The kind cannot be read (e.g. forbidden), and counts as synced empty: `why`
    /// says so until a list succeeds. Only for optional kinds.
    fn unavailable(&self, _why: &str) {}
}
