//! Values are data: a package's value (a tenant's, maybe from a Secret) goes through the
//! repository author's `valueTemplate` and fills in a JSON string the template writes,
//! or stands as one number, `true`, `false` or `null`; it never adds, renames or
//! overrides a field (`core/src/operator/values.rs`, `docs/glasskube-format.md` §22 #7).
//! The real templates of Glasskube packages keep giving Glasskube's output for the
//! values real packages get.

use hoist_core::operator::template;
use hoist_core::operator::values::{self, DataRule, ValuesError};
use hoist_core::repo::format::ValueTarget;
use proptest::prelude::*;
use serde_json::{Value, json};

const LABEL: &str = "value \"v\"";

/// In values only: an error holding it quotes the value.
const SECRET: &str = "QX7-secret";

/// The templates of real Glasskube packages.
const BASE64: &str = r#""{{ base64 . }}""#;
const BASE64_PIPE: &str = r#""{{ . | base64 }}""#;
const STRING_OR_NULL: &str = r#"{{if .}}"{{.}}"{{else}}null{{end}}"#;
const NOT_EMPTY: &str = r#"{{ if eq . "" }}false{{ else }}true{{ end }}"#;
const BARE: &str = "{{.}}";
const BARE_SPACED: &str = "{{ . }}";
const PROMETHEUS: &str = r#"{"prometheus.io/scrape": "true", "prometheus.io/interval": "{{ . }}"}"#;
const YES_NO: &str = r#"{{ if or (eq . "true") (eq . "1") (eq . "t") (eq . "T") (eq . "TRUE") (eq . "True") }}"yes"{{ else }}"no"{{ end }}"#;
const CONSTANT: &str = r#""--appendonly""#;
const URL: &str = r#""http://{{.}}-tracker-api:8000""#;
const QUOTED: &str = r#""{{.}}""#;

const REAL: [&str; 11] = [
    BASE64,
    BASE64_PIPE,
    STRING_OR_NULL,
    NOT_EMPTY,
    BARE,
    BARE_SPACED,
    PROMETHEUS,
    YES_NO,
    CONSTANT,
    URL,
    QUOTED,
];

/// Values that would reshape the JSON if pasted in.
const HOSTILE: &[&str] = &[
    r#"a","x":""#,
    r#"1, "x": 2"#,
    r#"\""#,
    "\"",
    "\\",
    "a\\",
    "\\\\\"",
    "line\nbreak",
    "\r\t\u{0}\u{1f}\u{7f}",
    "é € 😀 \u{2028}",
    "}",
    "{",
    "]",
    "[",
    "{}",
    "[]",
    "[1,2]",
    r#"{"x": 1}"#,
    r#"", "prometheus.io/scrape": "false"#,
    "\u{E000}",
    "\u{E001}x\u{E000}",
    "1}, {\"x\": 1",
];

fn target(template: &str) -> ValueTarget {
    serde_json::from_value(json!({
        "resource": {"apiGroup": "v1", "kind": "ConfigMap", "name": "cfg"},
        "patch": {"op": "add", "path": "/data/x"},
        "valueTemplate": template,
    }))
    .expect("a target")
}

fn rendered(template: &str, value: &Value) -> Result<Value, ValuesError> {
    values::rendered_value(LABEL, value, &target(template))
}

fn s(v: &str) -> Value {
    Value::String(v.into())
}

fn b64(v: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(v)
}

/// What Glasskube writes: the value's text pasted in, the output read as JSON.
fn glasskube(template_text: &str, value: &Value) -> Value {
    let text = template::render(template_text, value).expect("renders");
    serde_json::from_str(&text).expect("JSON")
}

/// Every field name anywhere in `v`.
fn keys(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        match v {
            Value::Array(a) => todo.extend(a),
            Value::Object(o) => {
                out.extend(o.keys().cloned());
                todo.extend(o.values());
            }
            _ => {}
        }
    }
    out
}

/// The field names `template` writes.
fn template_keys(template: &str) -> Vec<String> {
    if template == PROMETHEUS {
        vec![
            "prometheus.io/scrape".to_string(),
            "prometheus.io/interval".to_string(),
        ]
    } else {
        vec![]
    }
}

/// What a real template must give for any value `v` it accepts: `None` where only a
/// JSON scalar may come out (a bare value).
fn expected(template: &str, v: &str) -> Option<Value> {
    let yes = ["true", "1", "t", "T", "TRUE", "True"].contains(&v);
    Some(match template {
        BASE64 | BASE64_PIPE => s(&b64(v)),
        STRING_OR_NULL if v.is_empty() => Value::Null,
        STRING_OR_NULL | QUOTED => s(v),
        NOT_EMPTY => json!(!v.is_empty()),
        PROMETHEUS => json!({"prometheus.io/scrape": "true", "prometheus.io/interval": v}),
        YES_NO => s(if yes { "yes" } else { "no" }),
        CONSTANT => s("--appendonly"),
        URL => s(&format!("http://{v}-tracker-api:8000")),
        _ => return None,
    })
}

/// The checks every render of a real template passes, whatever the value.
fn check_real(template: &str, v: &str) {
    let out = rendered(template, &s(v));
    match (&out, expected(template, v)) {
        (Ok(out), Some(want)) => assert_eq!(out, &want, "{template} with {v:?}"),
        (Err(e), Some(_)) => panic!("{template} with {v:?}: {e}"),
        (Ok(out), None) => {
            assert!(
                !out.is_array() && !out.is_object(),
                "{template} with {v:?}: {out}"
            );
            assert_eq!(
                serde_json::from_str::<Value>(v).ok().as_ref(),
                Some(out),
                "a bare value stands only as the JSON scalar it is"
            );
        }
        (Err(e), None) => assert!(
            matches!(e, ValuesError::NotJson { .. } | ValuesError::NotData { .. }),
            "{template} with {v:?}: {e:?}"
        ),
    }
    if let Ok(out) = &out {
        let written = template_keys(template);
        for k in keys(out) {
            assert!(written.contains(&k), "{template} with {v:?} wrote {k:?}");
        }
    }
}

#[test]
fn real_templates_give_glasskube_s_output_for_ordinary_values() {
    let cases: &[(&str, Value, Value)] = &[
        (BASE64, s("p\"w"), json!("cCJ3")),
        (BASE64, s("hunter2"), json!("aHVudGVyMg==")),
        (BASE64_PIPE, s("hunter2"), json!("aHVudGVyMg==")),
        (BASE64_PIPE, s("a\\b"), json!("YVxi")),
        (STRING_OR_NULL, s("abc"), json!("abc")),
        (STRING_OR_NULL, s(""), Value::Null),
        (NOT_EMPTY, s(""), json!(false)),
        (NOT_EMPTY, s("x"), json!(true)),
        (BARE, s("3"), json!(3)),
        (BARE, s("-1.5"), json!(-1.5)),
        (BARE, s("null"), Value::Null),
        (BARE_SPACED, s("true"), json!(true)),
        (BARE_SPACED, s(" 3"), json!(3)),
        (
            PROMETHEUS,
            s("30s"),
            json!({"prometheus.io/scrape": "true", "prometheus.io/interval": "30s"}),
        ),
        (YES_NO, s("TRUE"), json!("yes")),
        (YES_NO, s("t"), json!("yes")),
        (YES_NO, s("false"), json!("no")),
        (YES_NO, s("yes"), json!("no")),
        (CONSTANT, s("anything"), json!("--appendonly")),
        (
            URL,
            s("tracecat"),
            json!("http://tracecat-tracker-api:8000"),
        ),
        // Transformations pass the JSON a jsonpath found, of any type.
        (BARE, json!(3), json!(3)),
        (BARE, json!(true), json!(true)),
        (QUOTED, json!(2.5), json!("2.5")),
        (r#""{{.name}}""#, json!({"name": "web"}), json!("web")),
        (
            "{{ if . }}true{{ else }}false{{ end }}",
            json!(false),
            json!(false),
        ),
        (r#""{{ index . 1 }}""#, json!(["a", "b"]), json!("b")),
        (r#"{{ len . }}"#, json!(["a", "b"]), json!(2)),
    ];
    for (t, v, want) in cases {
        assert_eq!(rendered(t, v).as_ref(), Ok(want), "{t} with {v}");
        // Glasskube pastes the text: the same where the value holds no JSON syntax.
        let plain = v.as_str().is_none_or(|v| !v.contains(['"', '\\']));
        if plain {
            assert_eq!(&glasskube(t, v), want, "Glasskube: {t} with {v}");
        }
    }
}

#[test]
fn injection_attempts_through_real_templates_stay_one_string_or_fail_and_never_add_a_field() {
    for t in REAL {
        for v in HOSTILE {
            check_real(t, v);
        }
    }
    // The classic: a quote closes the string, and the rest adds a field.
    assert_eq!(
        rendered(r#"{"a": "{{.}}"}"#, &s(r#"x","b":"y"#)),
        Ok(json!({"a": r#"x","b":"y"#}))
    );
}

#[test]
fn a_value_cannot_override_a_field_the_template_writes() {
    let mut doc =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {}});
    let attack = r#"30s", "prometheus.io/scrape": "false"#;
    values::patch(LABEL, &s(attack), &target(PROMETHEUS), &mut doc).expect("patched");
    assert_eq!(
        doc["data"]["x"],
        json!({"prometheus.io/scrape": "true", "prometheus.io/interval": attack})
    );
}

#[test]
fn a_bare_value_may_only_be_a_json_scalar() {
    for (t, v) in [
        ("{{.}}", "[1,2]"),
        ("{{.}}", "{}"),
        ("{{.}}", "[]"),
        ("[{{.}}]", "1, 2"),
        ("[[{{.}}]]", "1], [2"),
        (r#"{"replicas": {{.}}}"#, "{}"),
        (r#"{"replicas": {{.}}}"#, "[3]"),
    ] {
        let e = rendered(t, &s(v)).expect_err(t);
        assert_eq!(
            e,
            ValuesError::NotData {
                value: LABEL.into(),
                template: t.into(),
                why: DataRule::Structure
            },
            "{t} with {v}"
        );
    }
    // A quote is escaped, so outside a string it is no JSON at all.
    for (t, v) in [
        (r#"{"replicas": {{.}}}"#, r#"1, "x": 2"#),
        ("{{.}}", r#""x""#),
    ] {
        assert!(
            matches!(rendered(t, &s(v)), Err(ValuesError::NotJson { .. })),
            "{t} with {v}"
        );
    }
    assert_eq!(
        rendered(r#"{"replicas": {{.}}}"#, &s("3")),
        Ok(json!({"replicas": 3}))
    );
    assert_eq!(rendered("[{{.}}, 2]", &s("1")), Ok(json!([1, 2])));
}

#[test]
fn a_field_the_template_does_not_write_fails_naming_the_value_not_quoting_it() {
    // A map's keys are escaped but not marked: a key written by range is caught by the
    // field check.
    let t = r#"{ {{range $k, $v := .}}"{{$k}}": 1{{end}} }"#;
    let e = rendered(t, &json!({SECRET: "x"})).expect_err("an unwritten field");
    assert!(
        matches!(
            e,
            ValuesError::NotData {
                why: DataRule::Field,
                ..
            }
        ),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.starts_with("value \"v\": the valueTemplate"), "{msg}");
    assert!(
        msg.contains("renders a field the template does not write"),
        "{msg}"
    );
    assert!(!msg.contains(SECRET), "{msg}");
    // A value's string in a field name.
    let e = rendered(r#"{"{{.}}": 1}"#, &s(SECRET)).expect_err("a value as a field name");
    assert!(
        matches!(
            e,
            ValuesError::NotData {
                why: DataRule::InFieldName,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(!e.to_string().contains(SECRET), "{e}");
    // Fields the author writes, also with JSON escapes or inside a printf format.
    assert_eq!(
        rendered(r#"{"k8s.io\/a": "{{.}}"}"#, &s("x")),
        Ok(json!({"k8s.io/a": "x"}))
    );
    assert_eq!(
        rendered(r#"{{ printf "{\"a\": %d}" 3 }}"#, &s("x")),
        Ok(json!({"a": 3}))
    );
    assert_eq!(
        rendered(
            r#"{ {{- if . }}"on": {{ . }}{{ else }}"off": true{{ end -}} }"#,
            &s("1")
        ),
        Ok(json!({"on": 1}))
    );
}

#[test]
fn the_value_s_text_never_ends_a_string() {
    // An author's backslash before the value: the value's escaped quote would close the
    // string.
    let e = rendered(r#""\{{.}}""#, &s("\"")).expect_err("closes the string");
    assert!(
        matches!(
            e,
            ValuesError::NotJson { .. }
                | ValuesError::NotData {
                    why: DataRule::EndsString,
                    ..
                }
        ),
        "{e:?}"
    );
    // Text a function makes from the value is the value's data as well: escaped, so
    // JSON a printf writes around the value is one string's text, not JSON.
    let t = r#"{{ printf "{\"a\": \"%s\"}" . }}"#;
    assert!(matches!(
        rendered(t, &s("x")),
        Err(ValuesError::NotJson { .. })
    ));
    assert_eq!(
        rendered(&format!("\"{t}\""), &s("x")),
        Ok(json!(r#"{"a": "x"}"#))
    );
    assert_eq!(
        rendered(r#""{{ printf "%s-%s" . "x" }}""#, &s("a\"b")),
        Ok(json!("a\"b-x"))
    );
}

#[test]
fn functions_see_the_value_as_it_was_given() {
    let v = s("a\"b\\c");
    for (t, want) in [
        (r#"{{ eq . "a\"b\\c" }}"#, json!(true)),
        (r#"{{ ne . "a\"b\\c" }}"#, json!(false)),
        ("{{ len . }}", json!(5)),
        (r#""{{ base64 . }}""#, json!(b64("a\"b\\c"))),
        (r#""{{ print . }}""#, json!("a\"b\\c")),
        (r#""{{ urlquery . }}""#, json!("a%22b\\c")),
        // An author's literal is the author's: as in gtmpl.
        (r#""{{ base64 "a\\nb" }}""#, json!(b64("a\\nb"))),
    ] {
        assert_eq!(rendered(t, &v), Ok(want), "{t}");
    }
}

#[test]
fn a_value_holding_the_mark_characters_is_data_too() {
    let v = "\u{E001}x\u{E000}";
    assert_eq!(rendered(QUOTED, &s(v)), Ok(s(v)));
    assert!(rendered(BARE, &s(v)).is_err());
    // An author that writes them makes no value text of its own.
    let e = rendered("\"\u{E001}\"", &s("x")).expect_err("a stray mark");
    assert!(
        matches!(
            e,
            ValuesError::NotData {
                why: DataRule::Marks,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn errors_never_quote_the_value() {
    for t in REAL.iter().copied().chain([
        r#"{"{{.}}": 1}"#,
        "[{{.}}]",
        r#"{ {{range $k, $v := .}}"{{$k}}": 1{{end}} }"#,
    ]) {
        for v in HOSTILE {
            let v = s(&format!("{SECRET}{v}"));
            if let Err(e) = rendered(t, &v) {
                assert!(!e.to_string().contains(SECRET), "{t}: {e}");
            }
        }
    }
}

/// Strings made mostly of what JSON and the templates are made of.
fn tricky() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "\"", "\\", "{", "}", "[", "]", ",", ":", " ", "\n", "\t", "\u{0}", "\u{1f}", "\u{7f}",
        "\u{E000}", "\u{E001}", "\u{2028}", "é", "😀", "a", "1", "-", ".", "e", "true", "null",
        "x\": \"", "{{", "}}", "\\u0041", "/", "%",
    ]);
    prop_oneof![
        any::<String>(),
        prop::collection::vec(piece, 0..12).prop_map(|p| p.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn any_string_through_any_real_template_is_data(v in tricky()) {
        for t in REAL {
            check_real(t, &v);
        }
        prop_assert_eq!(rendered(QUOTED, &s(&v)), Ok(s(&v)));
    }

    #[test]
    fn escaping_is_what_serde_json_writes_between_the_quotes(v in tricky()) {
        let quoted = serde_json::to_string(&v).expect("a string");
        let serde = &quoted[1..quoted.len() - 1];
        let ours = template::escape(&v);
        prop_assert_eq!(ours.replace("\\ue000", "\u{E000}").replace("\\ue001", "\u{E001}"), serde);
        prop_assert!(!ours.contains([template::VALUE_START, template::VALUE_END]));
    }
}
