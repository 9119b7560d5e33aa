//! The shared inventory against the emulator: one read of every flag, and the shared findings.

use flags_runtime::jobs::inventory::{
    self, FindingCategory, FindingKind, Inventory, reserved_key_finding,
};
use flags_runtime::registry_file::registry_from_yaml;
use serde_json::json;

use crate::support::{seed_flag, setup};

const YAML: &str = r#"
version: 1
naming:
  areas: [studio, billing]
flags:
  release_studio_editor:
    description: The editor.
    owner: "@ana"
    default: false
  release_billing_checkout:
    description: The checkout.
    owner: "@bob"
    backup_owner: "@carol"
    default: false
  release_billing_old:
    description: Old, archived here too.
    owner: "@bob"
    default: false
    archived: true
"#;

#[tokio::test]
async fn reads_archived_flags_and_reports_the_shared_findings() {
    let (emu, client) = setup().await;
    let registry = registry_from_yaml("flags.yaml", YAML).unwrap();
    let mut archived = seed_flag("release_billing_checkout");
    archived["archived"] = json!(true);
    archived["active"] = json!(false);
    let mut old = seed_flag("release_billing_old");
    old["archived"] = json!(true);
    old["active"] = json!(false);
    let mut exempt = seed_flag("LegacyFlag");
    exempt["tags"] = json!(["Naming-Exempt", "owner:@Dave"]);
    let mut misnamed = seed_flag("new-checkout");
    misnamed["tags"] = json!(["owner:@erin", "backup-owner:@frank"]);
    let mut archived_orphan = seed_flag("Whatever Archived");
    archived_orphan["archived"] = json!(true);
    archived_orphan["active"] = json!(false);
    let mut deleted = seed_flag("release_studio_gone");
    deleted["deleted"] = json!(true);
    emu.seed(&json!({"flags": [
        seed_flag("release_studio_editor"), archived, old, exempt, misnamed, archived_orphan, deleted
    ]}))
    .unwrap();

    let inv = Inventory::fetch(&client).await.unwrap();
    assert_eq!(inv.len(), 6, "archived flags listed, soft-deleted ones not");
    assert!(inv.get("release_billing_checkout").unwrap().archived);
    assert!(inv.get("release_studio_gone").is_none());

    let findings = inventory::shared_findings(registry, &inv);
    let got: Vec<(FindingKind, &str)> = findings.iter().map(|f| (f.kind, f.key.as_str())).collect();
    assert_eq!(
        got,
        [
            (FindingKind::ArchivedKey, "release_billing_checkout"),
            (FindingKind::Orphan, "new-checkout"),
            (FindingKind::Orphan, "LegacyFlag"),
            (FindingKind::Naming, "new-checkout"),
        ]
    );
    let archived_key = &findings[0];
    assert_eq!(archived_key.owner.as_deref(), Some("@bob"));
    assert_eq!(archived_key.backup_owner.as_deref(), Some("@carol"));
    assert_eq!(archived_key.line, Some(10));
    assert_eq!(archived_key.kind.category(), FindingCategory::Drift);
    let orphan = &findings[1];
    assert_eq!(
        (orphan.owner.as_deref(), orphan.backup_owner.as_deref()),
        (Some("@erin"), Some("@frank")),
        "owners of unknown flags come from their tags"
    );
    assert_eq!(findings[2].owner.as_deref(), Some("@dave"));
    assert!(findings[3].message.contains("{lifecycle}_{area}_{name}"));
}

#[tokio::test]
async fn a_reserved_key_refusal_becomes_a_finding() {
    let (emu, client) = setup().await;
    let registry = registry_from_yaml("flags.yaml", YAML).unwrap();
    let mut held = seed_flag("release_studio_editor");
    held["deleted"] = json!(true);
    emu.seed(&json!({
        "flags": [held],
        "experiments": [{"name": "old", "feature_flag_key": "release_studio_editor"}]
    }))
    .unwrap();
    let def = registry.get("release_studio_editor").unwrap();
    let new = flags_runtime::client::NewFlag {
        key: def.key.into(),
        name: def.description.into(),
        filters: Some(json!({"groups": [{"properties": [], "rollout_percentage": 0}]})),
        active: Some(false),
        tags: vec![],
    };
    let err = client.create_flag(&new).await.unwrap_err();
    let finding = reserved_key_finding(def, &err).expect("a finding, not a failure");
    assert_eq!(finding.kind, FindingKind::ReservedKey);
    assert!(
        finding.message.contains("soft-deleted"),
        "{}",
        finding.message
    );

    let not_found = flags_runtime::client::Error::Api {
        method: flags_runtime::client::HttpMethod::Post,
        route: "/r",
        status: 500,
        kind: None,
        code: None,
        detail: "boom".into(),
        attr: None,
    };
    assert!(reserved_key_finding(def, &not_found).is_none());
}
