//! The example integration files load with the systems tandem is built with, and validate against the
//! generated JSON Schema.

use std::path::PathBuf;
use tandem_mapping::ConflictPolicy;
use tandem_model::Side;
use tandem_systems::{json_schema, load_file};

/// The project's `examples/` folder, found by walking up from this crate.
fn examples_dir() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|ancestor| ancestor.join("examples"))
        .find(|candidate| candidate.join("jira-azure-devops.yaml").is_file())
        .expect("examples/jira-azure-devops.yaml above the crate")
}

/// Every integration file in `examples/`.
fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples/ is readable")
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_loads() {
    let files = example_files();
    assert!(files.len() >= 2, "{files:?}");
    for file in files {
        if let Err(errors) = load_file(&file) {
            panic!("{} does not load:\n{errors}", file.display());
        }
    }
}

#[test]
fn the_documented_example_reads_as_written() {
    let config = load_file(&examples_dir().join("jira-azure-devops.yaml")).expect("loads");
    assert_eq!(config.name, "ops-fabrikam-bugs");
    assert_eq!(config.side(Side::One).system, tandem_jira::JIRA);
    assert_eq!(config.side(Side::Two).project, "Fabrikam");
    assert_eq!(
        config.side(Side::Two).base_url.as_ref().map(|url| url.as_str()),
        Some("https://dev.azure.com/fabrikam")
    );
    assert!(config.filter(Side::One).is_some() && config.filter(Side::Two).is_none());
    assert_eq!(config.conflicts, ConflictPolicy::LatestWins);
    assert_eq!(config.polling.interval.as_secs(), 300);
    let names: Vec<&str> = config.fields.iter().map(|mapping| mapping.name.as_str()).collect();
    assert_eq!(names, ["title", "description", "priority", "status", "assignee", "labels", "severity"]);
    // Inline pair, then the CSV's two rows.
    assert_eq!(config.users.pairs().len(), 3);
    assert_eq!(config.users.default_user(Side::Two), Some("triage@contoso.com"));
}

#[test]
fn the_local_example_uses_simulators_without_urls_or_filters() {
    let config = load_file(&examples_dir().join("local.yaml")).expect("loads");
    for side in Side::BOTH {
        let settings = config.side(side);
        assert!(settings.simulator, "side {side}");
        assert!(settings.base_url.is_none(), "side {side}");
        assert!(settings.filter.is_none(), "side {side}");
    }
    let documented = load_file(&examples_dir().join("jira-azure-devops.yaml")).expect("loads");
    assert_eq!(config.fields, documented.fields, "the same mapping as the documented example");
}

#[test]
fn examples_validate_against_the_json_schema() {
    let schema = json_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    for file in example_files() {
        let text = std::fs::read_to_string(&file).expect("readable");
        let instance: serde_json::Value = serde_yaml_ng::from_str(&text).expect("YAML");
        let errors: Vec<String> = validator.iter_errors(&instance).map(|error| error.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", file.display());
    }
}

#[test]
fn the_schema_is_strict_and_documented() {
    let schema = json_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let text = std::fs::read_to_string(examples_dir().join("local.yaml")).expect("readable");
    let mut instance: serde_json::Value = serde_yaml_ng::from_str(&text).expect("YAML");
    instance["colour"] = "blue".into();
    assert!(!validator.is_valid(&instance), "unknown keys are refused");
    instance.as_object_mut().expect("object").remove("colour");
    instance["side1"].as_object_mut().expect("object").remove("secret");
    assert!(!validator.is_valid(&instance), "secret is required");

    // Descriptions come from the doc comments; line breaks inside them do not matter here.
    let text = schema.to_string().replace("\\n", " ");
    for documented in [
        "An item that stops matching stays linked and keeps syncing.",
        "no target user is found, the target side's `default` user is written",
        "`reverse` must say which one it maps back to",
        "The change made last, by the systems' clocks, wins",
    ] {
        assert!(text.contains(documented), "the schema describes `{documented}`");
    }
}

#[test]
fn the_schema_names_every_system_and_its_own_keys_on_both_sides() {
    let schema = json_schema();
    for side in ["side1", "side2"] {
        let properties = &schema["properties"][side]["properties"];
        let systems = properties["system"]["enum"].as_array().expect("an enum of systems");
        for system in tandem_systems::all() {
            let slug = system.kind().slug();
            assert!(systems.iter().any(|listed| listed == slug), "{side}: {slug} not among {systems:?}");
            for setting in system.setting_keys() {
                let described = properties[setting.key]["description"].as_str().unwrap_or_default();
                assert!(described.contains(system.kind().display_name()), "{side}.{}: {described:?}", setting.key);
            }
        }
    }
}
