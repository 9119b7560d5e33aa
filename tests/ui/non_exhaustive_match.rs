// The variant enum is exhaustive: a match that forgets a variant does not compile, so adding
// a variant to flags.yaml breaks every match that does not handle it.
use flags::ExperimentAiSummaryModelVariant as Model;

fn describe(m: Model) -> &'static str {
    match m {
        Model::Control => "legacy",
        Model::ClaudeSonnet => "claude",
    }
}

fn main() {
    let _ = describe(Model::Control);
}
