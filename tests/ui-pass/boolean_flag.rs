// An application reads a boolean flag's metadata and uses it through the runtime traits.
use flags::{BooleanFlag, FlagDef, ReleaseStudioNewEditor};

fn default_of<F: BooleanFlag>() -> (&'static str, bool) {
    (F::KEY, F::DEFAULT)
}

fn main() {
    assert_eq!(ReleaseStudioNewEditor::KEY, "release_studio_new_editor");
    assert_eq!(default_of::<ReleaseStudioNewEditor>(), ("release_studio_new_editor", false));
    let def = <ReleaseStudioNewEditor as FlagDef>::definition();
    assert_eq!(def.owner, "@yourname");
    assert_eq!(def.lifecycle, Some("release"));
    assert_eq!(def.area, Some("studio"));
    assert!(def.guardian.is_some_and(|g| g.enforce));
    assert_eq!(ReleaseStudioNewEditor::EXPIRES.map(|d| d.to_string()).as_deref(), Some("2027-01-31"));
}
