const _: &[u8] = ::core::include_bytes!("/abs/flags.yaml");
/// Gates the new editor.
///
/// - Key: `release_studio_new_editor`
/// - Owner: @ana
/// - Default: `false`
/// - Expires: 2027-01-31
/// - Guarded by `flagsync guard`
/// - Declared at `flags.yaml:4`
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ReleaseStudioNewEditor;
#[allow(deprecated)]
impl ReleaseStudioNewEditor {
    /// The flag key in PostHog.
    pub const KEY: &'static str = "release_studio_new_editor";
    /// What the flag gates.
    pub const DESCRIPTION: &'static str = "Gates the new editor.";
    /// Who answers for the flag.
    pub const OWNER: &'static str = "@ana";
    /// The day the flag must be gone, if set.
    pub const EXPIRES: ::core::option::Option<::flags_runtime::Date> = ::core::option::Option::Some(
        ::flags_runtime::Date::__validated(2027, 1, 31),
    );
    /// The value the application gets when PostHog cannot answer.
    pub const DEFAULT: bool = false;
    /// This flag in [`Flag`].
    pub const FLAG: Flag = Flag::ReleaseStudioNewEditor;
    /// Everything `flags.yaml` says about the flag.
    pub fn definition() -> &'static ::flags_runtime::FlagDefinition {
        &REGISTRY.flags[0]
    }
}
#[automatically_derived]
#[allow(deprecated)]
impl ::flags_runtime::FlagDef for ReleaseStudioNewEditor {
    const KEY: &'static str = "release_studio_new_editor";
    type Value = bool;
    const DEFAULT_VALUE: bool = false;
    fn definition() -> &'static ::flags_runtime::FlagDefinition {
        &REGISTRY.flags[0]
    }
}
#[automatically_derived]
#[allow(deprecated)]
impl ::flags_runtime::BooleanFlag for ReleaseStudioNewEditor {
    const DEFAULT: bool = false;
}
/// Which model writes summaries.
///
/// - Key: `experiment_ai_model`
/// - Owner: @ml
/// - Default: `control`
/// - Variants: `control` 50%, `gpt_4o` 50%
/// - Declared at `flags.yaml:10`
#[deprecated(
    note = "flag `experiment_ai_model` is archived in flags.yaml: remove this use, then the flag"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ExperimentAiModel;
#[allow(deprecated)]
impl ExperimentAiModel {
    /// The flag key in PostHog.
    pub const KEY: &'static str = "experiment_ai_model";
    /// What the flag gates.
    pub const DESCRIPTION: &'static str = "Which model writes summaries.";
    /// Who answers for the flag.
    pub const OWNER: &'static str = "@ml";
    /// The day the flag must be gone, if set.
    pub const EXPIRES: ::core::option::Option<::flags_runtime::Date> = ::core::option::Option::None;
    /// The variant the application gets when PostHog cannot answer.
    pub const DEFAULT: ExperimentAiModelVariant = ExperimentAiModelVariant::Control;
    /// This flag in [`Flag`].
    pub const FLAG: Flag = Flag::ExperimentAiModel;
    /// Everything `flags.yaml` says about the flag.
    pub fn definition() -> &'static ::flags_runtime::FlagDefinition {
        &REGISTRY.flags[1]
    }
}
#[automatically_derived]
#[allow(deprecated)]
impl ::flags_runtime::FlagDef for ExperimentAiModel {
    const KEY: &'static str = "experiment_ai_model";
    type Value = ExperimentAiModelVariant;
    const DEFAULT_VALUE: ExperimentAiModelVariant = ExperimentAiModelVariant::Control;
    fn definition() -> &'static ::flags_runtime::FlagDefinition {
        &REGISTRY.flags[1]
    }
}
#[automatically_derived]
#[allow(deprecated)]
impl ::flags_runtime::VariantFlag for ExperimentAiModel {
    type Variant = ExperimentAiModelVariant;
    const DEFAULT: ExperimentAiModelVariant = ExperimentAiModelVariant::Control;
}
/// The variants of [`ExperimentAiModel`] (flag `experiment_ai_model`), in yaml order.
#[deprecated(
    note = "flag `experiment_ai_model` is archived in flags.yaml: remove this use, then the flag"
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExperimentAiModelVariant {
    /// `control` (50% of the rollout)
    Control,
    /// `gpt_4o` (50% of the rollout)
    Gpt4o,
}
#[allow(deprecated)]
impl ExperimentAiModelVariant {
    /// Every variant, in yaml order.
    pub const ALL: &'static [Self] = &[Self::Control, Self::Gpt4o];
    /// The variant key in PostHog.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Control => "control",
            Self::Gpt4o => "gpt_4o",
        }
    }
}
#[automatically_derived]
#[allow(deprecated)]
impl ::core::str::FromStr for ExperimentAiModelVariant {
    type Err = ::flags_runtime::UnknownVariant;
    fn from_str(s: &str) -> ::core::result::Result<Self, Self::Err> {
        match s {
            "control" => ::core::result::Result::Ok(Self::Control),
            "gpt_4o" => ::core::result::Result::Ok(Self::Gpt4o),
            other => {
                ::core::result::Result::Err(::flags_runtime::UnknownVariant {
                    flag: "experiment_ai_model",
                    value: ::std::string::String::from(other),
                })
            }
        }
    }
}
#[automatically_derived]
#[allow(deprecated)]
impl ::core::fmt::Display for ExperimentAiModelVariant {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str(self.as_str())
    }
}
#[automatically_derived]
#[allow(deprecated)]
impl ::flags_runtime::FlagVariant for ExperimentAiModelVariant {
    const ALL: &'static [Self] = ExperimentAiModelVariant::ALL;
    fn as_str(self) -> &'static str {
        ExperimentAiModelVariant::as_str(self)
    }
}
/// Every flag declared in `flags.yaml`, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Flag {
    /// `release_studio_new_editor`: Gates the new editor.
    ReleaseStudioNewEditor,
    /// `experiment_ai_model`: Which model writes summaries.
    ExperimentAiModel,
}
impl Flag {
    /// Every flag, in file order.
    pub const ALL: &'static [Flag] = &[
        Flag::ReleaseStudioNewEditor,
        Flag::ExperimentAiModel,
    ];
    /// The flag key in PostHog.
    pub const fn key(self) -> &'static str {
        match self {
            Flag::ReleaseStudioNewEditor => "release_studio_new_editor",
            Flag::ExperimentAiModel => "experiment_ai_model",
        }
    }
    /// Everything `flags.yaml` says about the flag.
    pub fn definition(self) -> &'static ::flags_runtime::FlagDefinition {
        match self {
            Flag::ReleaseStudioNewEditor => &REGISTRY.flags[0],
            Flag::ExperimentAiModel => &REGISTRY.flags[1],
        }
    }
    /// The flag with this PostHog key, if the registry declares it.
    pub fn from_key(key: &str) -> ::core::option::Option<Flag> {
        match key {
            "release_studio_new_editor" => {
                ::core::option::Option::Some(Flag::ReleaseStudioNewEditor)
            }
            "experiment_ai_model" => {
                ::core::option::Option::Some(Flag::ExperimentAiModel)
            }
            _ => ::core::option::Option::None,
        }
    }
}
#[automatically_derived]
impl ::core::fmt::Display for Flag {
    fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
        f.write_str(self.key())
    }
}
/// The registry generated from `flags.yaml`: every flag, the naming rules and the lifetimes.
pub static REGISTRY: ::flags_runtime::Registry = ::flags_runtime::Registry {
    version: 1,
    source: "flags.yaml",
    naming: ::flags_runtime::NamingRules {
        pattern: "{lifecycle}_{area}_{name}",
        segments: &[
            ("lifecycle", &["release", "experiment", "ops", "tier"]),
            ("area", &["studio", "ai"]),
        ],
    },
    lifetimes: &[
        ("release", ::flags_runtime::Lifetime::Days(40)),
        ("experiment", ::flags_runtime::Lifetime::Days(40)),
        ("ops", ::flags_runtime::Lifetime::Days(7)),
        ("tier", ::flags_runtime::Lifetime::Never),
    ],
    flags: &[
        ::flags_runtime::FlagDefinition {
            key: "release_studio_new_editor",
            rust_name: "ReleaseStudioNewEditor",
            description: "Gates the new editor.",
            owner: "@ana",
            backup_owner: ::core::option::Option::None,
            tags: &[],
            lifecycle: ::core::option::Option::Some("release"),
            area: ::core::option::Option::Some("studio"),
            kind: ::flags_runtime::FlagKind::Boolean,
            default: ::flags_runtime::DefaultValue::Bool(false),
            variants: &[],
            payloads: &[],
            created: ::core::option::Option::None,
            expires: ::core::option::Option::Some(
                ::flags_runtime::Date::__validated(2027, 1, 31),
            ),
            ticket: ::core::option::Option::None,
            rollback: ::core::option::Option::None,
            surfaces: &[],
            guardian: ::core::option::Option::Some(::flags_runtime::GuardianDefinition {
                enabled: true,
                enforce: true,
                alpha: 0.05,
                metrics: &[
                    ::flags_runtime::GuardrailMetric {
                        event: "post.published",
                        success_property: ::core::option::Option::Some("ok"),
                        max_drop: 0.2,
                    },
                ],
            }),
            archived: false,
            line: 4,
        },
        ::flags_runtime::FlagDefinition {
            key: "experiment_ai_model",
            rust_name: "ExperimentAiModel",
            description: "Which model writes summaries.",
            owner: "@ml",
            backup_owner: ::core::option::Option::None,
            tags: &[],
            lifecycle: ::core::option::Option::Some("experiment"),
            area: ::core::option::Option::Some("ai"),
            kind: ::flags_runtime::FlagKind::Multivariate,
            default: ::flags_runtime::DefaultValue::Variant("control"),
            variants: &[
                ::flags_runtime::VariantDefinition {
                    key: "control",
                    rollout_percentage: 50,
                },
                ::flags_runtime::VariantDefinition {
                    key: "gpt_4o",
                    rollout_percentage: 50,
                },
            ],
            payloads: &[
                ::flags_runtime::PayloadDefinition {
                    key: "gpt_4o",
                    json: "{\"max_tokens\":1024}",
                },
            ],
            created: ::core::option::Option::None,
            expires: ::core::option::Option::None,
            ticket: ::core::option::Option::None,
            rollback: ::core::option::Option::None,
            surfaces: &[],
            guardian: ::core::option::Option::None,
            archived: true,
            line: 10,
        },
    ],
};
