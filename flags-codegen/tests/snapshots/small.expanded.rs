const _: &[u8] = ::core::include_bytes!("/abs/flags.yaml");
::flags_runtime::__flags_boolean! {
    [#[doc =
    " Gates the new editor.\n\n - Key: `release_studio_new_editor`\n - Owner: @ana\n - Default: `false`\n - Expires: 2027-01-31\n - Guarded by `flagsync guard`\n - Declared at `flags.yaml:4`"]]
    [] ReleaseStudioNewEditor 0, "release_studio_new_editor", "Gates the new editor.",
    "@ana", [], [], ["release"], ["studio"], false, [], [], [2027 1 31], [], [], [],
    [true true 0.05[("post.published"["ok"] 0.2)]], false, 4
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
::flags_runtime::__flags_variant! {
    [#[doc =
    " Which model writes summaries.\n\n - Key: `experiment_ai_model`\n - Owner: @ml\n - Default: `control`\n - Variants: `control` 50%, `gpt_4o` 50%\n - Declared at `flags.yaml:10`"]]
    [#[deprecated(note =
    "flag `experiment_ai_model` is archived in flags.yaml: remove this use, then the flag")]]
    ExperimentAiModel 1, "experiment_ai_model", "Which model writes summaries.", "@ml",
    [], [], ["experiment"], ["ai"], ExperimentAiModelVariant[(Control "control" 50)
    (Gpt4o "gpt_4o" 50)], Control "control", [("gpt_4o" "{\"max_tokens\":1024}")], [],
    [], [], [], [], [], true, 10
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
        &REGISTRY.flags[self as usize]
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
#[allow(deprecated)]
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
    flags: &[ReleaseStudioNewEditor::__DEFINITION, ExperimentAiModel::__DEFINITION],
};
