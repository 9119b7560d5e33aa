// An exhaustive match on a multivariate flag's variants, as design.md shows it.
use flags::ExperimentAiSummaryModelVariant as Model;
use flags::{ExperimentAiSummaryModel, FlagVariant, VariantFlag};

fn route(m: Model) -> &'static str {
    match m {
        Model::Control => "legacy",
        Model::ClaudeSonnet => "claude",
        Model::Gpt4o => "openai",
    }
}

fn main() {
    assert_eq!(route(ExperimentAiSummaryModel::DEFAULT), "legacy");
    assert_eq!(<ExperimentAiSummaryModel as VariantFlag>::DEFAULT, Model::Control);
    assert_eq!("gpt_4o".parse::<Model>(), Ok(Model::Gpt4o));
    assert!("gpt4".parse::<Model>().is_err());
    let keys: Vec<&str> = <Model as FlagVariant>::ALL.iter().map(|v| v.as_str()).collect();
    assert_eq!(keys, ["control", "claude_sonnet", "gpt_4o"]);
    assert_eq!(Model::ClaudeSonnet.to_string(), "claude_sonnet");
}
