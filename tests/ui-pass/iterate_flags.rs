// Iterating every flag, and checking keys by the registry's own naming rules.
use flags::{Flag, REGISTRY};

fn main() {
    assert!(!Flag::ALL.is_empty());
    for flag in Flag::ALL {
        let def = flag.definition();
        assert_eq!(def.key, flag.key());
        assert_eq!(Flag::from_key(def.key), Some(*flag));
        assert!(REGISTRY.naming.check(def.key).is_ok());
    }
    assert!(REGISTRY.naming.check("Release_Studio_x").is_err());
    assert!(REGISTRY.naming.check("release_marketing_x").is_err());
    assert_eq!(Flag::from_key("not_a_flag"), None);
}
