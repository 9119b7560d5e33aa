// The inline form with a team's own naming convention, in a module of its own.
mod team_flags {
    flags_macros::include_flags!(source = r#"
naming:
  pattern: "{surface}_{segment}_{feature}_{goal}"
  segments:
    surface: [web, api]
    segment: [free, pro]
flags:
  web_pro_export_csv_speed:
    description: Faster CSV exports for Pro accounts.
    owner: "@ana"
    default: true
"#);
}

fn main() {
    use team_flags::WebProExportCsvSpeed;
    assert_eq!(WebProExportCsvSpeed::KEY, "web_pro_export_csv_speed");
    const { assert!(WebProExportCsvSpeed::DEFAULT) };
    assert!(team_flags::REGISTRY.naming.check("api_free_search_recall").is_ok());
    assert!(team_flags::REGISTRY.naming.check("mobile_free_search_recall").is_err());
}
