//! The status words an install is shown with (dashboard, `hoist list --installed`, and
//! the operator that writes the conditions they are read from).

/// A status condition, as the rule reads it.
#[derive(Debug, Clone, Copy)]
pub struct Condition<'a> {
    pub type_: &'a str,
    pub status: &'a str,
    pub reason: &'a str,
    pub message: &'a str,
}

/// The word for an install's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    /// Being uninstalled (a deletion timestamp is set).
    Deleting,
    /// The `Failed` condition is true.
    Failed,
    /// The `Ready` condition is true.
    Ready,
    /// No verdict yet.
    Pending,
}

impl Word {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deleting => "Deleting",
            Self::Failed => "Failed",
            Self::Ready => "Ready",
            Self::Pending => "Pending",
        }
    }
}

/// An install's state: the word, and the reason and message behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    pub word: Word,
    pub reason: String,
    pub message: String,
}

/// The state from the install's conditions and whether it is being deleted.
/// `Deleting` wins, then a true `Failed`, then `Ready` (true: Ready; otherwise Pending
/// with its reason); with neither condition the operator has not answered yet.
pub fn state(deleting: bool, conditions: &[Condition<'_>]) -> State {
    let make = |word, reason: &str, message: &str| State {
        word,
        reason: reason.into(),
        message: message.into(),
    };
    if deleting {
        return make(Word::Deleting, "", "the package is being uninstalled");
    }
    let find = |t: &str| conditions.iter().find(|c| c.type_ == t);
    match (find("Failed"), find("Ready")) {
        (Some(f), _) if f.status == "True" => make(Word::Failed, f.reason, f.message),
        (_, Some(r)) if r.status == "True" => make(Word::Ready, r.reason, r.message),
        (_, Some(r)) => make(Word::Pending, r.reason, r.message),
        _ => make(Word::Pending, "Pending", "waiting for the operator"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c<'a>(type_: &'a str, status: &'a str) -> Condition<'a> {
        Condition {
            type_,
            status,
            reason: "R",
            message: "M",
        }
    }

    #[test]
    fn deleting_wins_then_failed_then_ready_and_nothing_is_pending() {
        let ready = [c("Ready", "True")];
        assert_eq!(state(true, &ready).word, Word::Deleting);
        assert_eq!(
            state(false, &[c("Ready", "True"), c("Failed", "True")]).word,
            Word::Failed
        );
        assert_eq!(state(false, &ready).word, Word::Ready);
        let not_ready = state(false, &[c("Ready", "False"), c("Failed", "False")]);
        assert_eq!(
            (not_ready.word, not_ready.reason.as_str()),
            (Word::Pending, "R")
        );
        let fresh = state(false, &[]);
        assert_eq!(
            (fresh.word.as_str(), fresh.message.as_str()),
            ("Pending", "waiting for the operator")
        );
    }
}
