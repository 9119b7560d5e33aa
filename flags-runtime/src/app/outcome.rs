//! What a typed evaluation answers: the value, why, and where it came from.

use std::fmt;

use crate::eval::{InconclusiveReason, Reason};

/// The answer of [`super::FlagsClient::evaluate`]: a value the application can use (never an
/// error), why it is that value, and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagEvaluation<T> {
    /// The value to use: PostHog's answer, an override, or the yaml `default`.
    pub value: T,
    /// Why.
    pub reason: EvalReason,
    /// Where the value came from.
    pub source: Source,
}

impl<T> FlagEvaluation<T> {
    /// Whether the application got the yaml `default` (PostHog gave no usable answer, the flag
    /// is off for a multivariate flag, or the client is offline).
    pub fn is_default(&self) -> bool {
        self.source == Source::Default
    }
}

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// PostHog's rules, evaluated in this process.
    Local,
    /// PostHog's `/flags` endpoint.
    Remote,
    /// An override ([`super::FlagsClient::with`]).
    Override,
    /// The yaml `default`.
    Default,
}

/// Why a flag has its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvalReason {
    /// Condition set `index` (0-based, in PostHog's order) matched.
    ConditionMatch {
        /// Position of the condition in the flag's `filters.groups`.
        index: usize,
    },
    /// No condition matched: the flag is off for this context.
    NoConditionMatch,
    /// A condition's properties matched but the rollout percentage left this context out.
    OutOfRollout {
        /// Position of the first such condition.
        index: usize,
    },
    /// The flag is inactive in PostHog.
    Disabled,
    /// The context falls in the flag's holdout group.
    Holdout,
    /// Decided by the person's early-access enrollment (`$feature_enrollment/<key>`).
    FeatureEnrollment,
    /// A group flag, and the context has no group of that type: off.
    GroupNotProvided,
    /// PostHog's `/flags` answered with a reason code this version does not know; its value
    /// is used.
    OtherRemoteReason,
    /// PostHog has no flag with this key (not synced yet, or deleted): the yaml default.
    NotInPostHog,
    /// Local evaluation could not decide and no remote answer was used: the yaml default.
    Inconclusive(InconclusiveReason),
    /// Something failed: the yaml default.
    Error(EvalError),
    /// Forced by an override.
    Override,
    /// The client is offline and has no rules: the yaml default.
    Offline,
}

/// What failed when an evaluation fell back to the yaml default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EvalError {
    /// No definitions yet: PostHog not reached (and no snapshot file or shared cache), or a
    /// client without a personal API key asked for a local answer.
    NotLoaded,
    /// PostHog refused the personal API key (401) for `/flags/definitions`; as PostHog's SDKs
    /// do, the rules were dropped.
    Unauthorized,
    /// The project is over its feature-flag quota (402, or `quotaLimited` from `/flags`); as
    /// PostHog's SDKs do, the rules were dropped.
    QuotaLimited,
    /// The flag's definition is malformed where evaluation needed it.
    Definition,
    /// PostHog's value does not fit the yaml: a variant the yaml does not declare, or a
    /// boolean for a multivariate flag.
    TypeMismatch,
    /// The remote `/flags` call did not answer within its timeout.
    Timeout,
    /// The remote `/flags` call could not reach PostHog.
    Unreachable,
    /// The remote `/flags` call answered an HTTP error.
    Api {
        /// The HTTP status.
        status: u16,
    },
    /// PostHog's `/flags` reported that it failed to compute this flag.
    RemoteFailed,
}

impl EvalError {
    /// The `$feature_flag_error` value PostHog's SDKs send for this failure (posthog-python's
    /// `FeatureFlagError`), when there is one.
    pub fn posthog_code(&self) -> Option<String> {
        Some(match self {
            EvalError::Timeout => "timeout".into(),
            EvalError::Unreachable => "connection_error".into(),
            EvalError::QuotaLimited => "quota_limited".into(),
            EvalError::Api { status } => format!("api_error_{status}"),
            EvalError::RemoteFailed => "errors_while_computing_flags".into(),
            EvalError::Unauthorized => "api_error_401".into(),
            EvalError::NotLoaded | EvalError::Definition | EvalError::TypeMismatch => {
                return None;
            }
        })
    }
}

impl From<Reason> for EvalReason {
    fn from(r: Reason) -> Self {
        match r {
            Reason::ConditionMatch { index } => EvalReason::ConditionMatch { index },
            Reason::NoConditionMatch => EvalReason::NoConditionMatch,
            Reason::OutOfRollout { index } => EvalReason::OutOfRollout { index },
            Reason::Disabled => EvalReason::Disabled,
            Reason::Holdout => EvalReason::Holdout,
            Reason::FeatureEnrollment => EvalReason::FeatureEnrollment,
            Reason::GroupNotProvided => EvalReason::GroupNotProvided,
            Reason::Inconclusive(why) => EvalReason::Inconclusive(why),
            Reason::FlagNotFound => EvalReason::NotInPostHog,
            Reason::Error => EvalReason::Error(EvalError::Definition),
        }
    }
}

impl EvalReason {
    /// The reason for a `reason.code` of PostHog's `/flags?v=2` answer.
    pub(crate) fn from_remote_code(code: &str, index: Option<usize>) -> EvalReason {
        match (code, index) {
            ("condition_match", Some(index)) => EvalReason::ConditionMatch { index },
            ("out_of_rollout_bound", Some(index)) => EvalReason::OutOfRollout { index },
            ("no_condition_match", _) => EvalReason::NoConditionMatch,
            ("flag_disabled", _) => EvalReason::Disabled,
            ("holdout_condition_value", _) => EvalReason::Holdout,
            ("super_condition_value", _) => EvalReason::FeatureEnrollment,
            ("no_group_type", _) => EvalReason::GroupNotProvided,
            _ => EvalReason::OtherRemoteReason,
        }
    }
}

/// Human text in the words of PostHog's `/flags` reason descriptions where one exists
/// ("Matched condition set 1"); sent as `$feature_flag_reason`.
impl fmt::Display for EvalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalReason::ConditionMatch { index } => {
                write!(f, "Matched condition set {}", index + 1)
            }
            EvalReason::NoConditionMatch => f.write_str("No matching condition set"),
            EvalReason::OutOfRollout { index } => {
                write!(f, "Out of rollout bound (condition set {})", index + 1)
            }
            EvalReason::Disabled => f.write_str("Feature flag is disabled"),
            EvalReason::Holdout => f.write_str("Holdout condition value"),
            EvalReason::FeatureEnrollment => f.write_str("Super condition value"),
            EvalReason::GroupNotProvided => f.write_str("No group type"),
            EvalReason::OtherRemoteReason => f.write_str("Decided by PostHog"),
            EvalReason::NotInPostHog => f.write_str("Flag not in PostHog; yaml default"),
            EvalReason::Inconclusive(why) => {
                write!(f, "Inconclusive locally ({}); yaml default", why.as_str())
            }
            EvalReason::Error(e) => write!(f, "Error ({e:?}); yaml default"),
            EvalReason::Override => f.write_str("Override"),
            EvalReason::Offline => f.write_str("Offline; yaml default"),
        }
    }
}
