// A flag that is no longer in flags.yaml: every use is a compile error.
use flags::ReleaseStudioOldEditor;

fn main() {
    let _ = ReleaseStudioOldEditor::KEY;
}
