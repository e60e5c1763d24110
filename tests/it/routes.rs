//! template.yaml (API Gateway), Cargo.toml's watch router (local) and the endpoints in code
//! must declare the same routes, each served by its own function crate.

use std::collections::BTreeSet;
use std::path::Path;
use tidings_app::api::{ALL, PUBLIC};
use tidings_app::functions;

type Route = (String, String, String); // method, path, function

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn code_routes() -> BTreeSet<Route> {
    let keyed = ALL.iter().map(|e| (&e.method, e.path, e.function));
    let public = PUBLIC.iter().map(|e| (&e.method, e.path, e.function));
    keyed
        .chain(public)
        .map(|(m, p, f)| (m.to_string(), p.to_owned(), f.to_owned()))
        .collect()
}

fn template_routes() -> BTreeSet<Route> {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    let mut out = BTreeSet::new();
    for (_, res) in doc["Resources"].as_mapping().unwrap() {
        if res["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = res["Properties"]["Handler"]
            .as_str()
            .expect("every function's Handler names it");
        for (_, event) in res["Properties"]["Events"]
            .as_mapping()
            .into_iter()
            .flatten()
        {
            if event["Type"].as_str() == Some("HttpApi") {
                let p = &event["Properties"];
                out.insert((
                    p["Method"].as_str().unwrap().to_owned(),
                    p["Path"].as_str().unwrap().to_owned(),
                    binary.to_owned(),
                ));
            }
        }
    }
    out
}

fn router_routes() -> BTreeSet<Route> {
    let text = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let router = doc["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap();
    let mut out = BTreeSet::new();
    for (path, routes) in router {
        for r in routes.as_array().unwrap() {
            out.insert((
                r["method"].as_str().unwrap().to_owned(),
                path.clone(),
                r["function"].as_str().unwrap().to_owned(),
            ));
        }
    }
    out
}

#[test]
fn template_router_and_code_declare_the_same_routes() {
    let code = code_routes();
    assert_eq!(
        code.len(),
        ALL.len() + PUBLIC.len(),
        "two endpoints share a route"
    );
    assert_eq!(
        template_routes(),
        code,
        "template.yaml HttpApi events differ from shared/app/src/api"
    );
    assert_eq!(
        router_routes(),
        code,
        "Cargo.toml's watch router differs from shared/app/src/api"
    );
}

#[test]
fn scheduled_functions_are_declared_without_routes() {
    let text = std::fs::read_to_string(root().join("template.yaml")).unwrap();
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    // Functions without an HTTP route: EventBridge Scheduler or SNS invokes them.
    for f in functions::event_functions() {
        let found = doc["Resources"].as_mapping().unwrap().values().any(|r| {
            r["Properties"]["Handler"].as_str() == Some(f)
                && r["Properties"]["Events"]
                    .as_mapping()
                    .into_iter()
                    .flatten()
                    .all(|(_, e)| e["Type"].as_str() != Some("HttpApi"))
        });
        assert!(found, "template.yaml declares {f} without HTTP events");
    }
}

#[test]
fn every_endpoint_has_its_own_function_crate() {
    let dirs: BTreeSet<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let names: BTreeSet<String> = functions::names().map(str::to_owned).collect();
    assert_eq!(dirs, names);
    // Each is the same line as the `tidings` binary's main, under its own doc comment: the
    // local stack runs `tidings` for them (infra/local/lambda-watch/cargo), and `make test`
    // neither builds nor lints them, so this is what keeps them right.
    let same = "\n#[tokio::main]\nasync fn main() -> Result<(), lambda_http::Error> {\n    \
                tidings_app::functions::serve_function(env!(\"CARGO_BIN_NAME\")).await\n}\n";
    for name in &names {
        let main = std::fs::read_to_string(root().join("functions").join(name).join("src/main.rs"))
            .unwrap();
        let code: String = main
            .lines()
            .skip_while(|l| l.starts_with("//!"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(code, same, "functions/{name}/src/main.rs");
    }
}
