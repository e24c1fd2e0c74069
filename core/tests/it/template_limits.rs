//! Value templates are a repository author's input: for generated templates (built from
//! the pieces real and hostile templates are made of: definitions and calls that may
//! form cycles, ranges nested over big lists, printf with any width, functions that
//! make text, deep parentheses, and raw text that may not even parse) and generated
//! values, the renderer never panics, never overflows its stack, never returns more
//! than the output limit, always returns within the time limit, and never quotes the
//! value in an error. Each of the named attacks has its own case besides.

use hoist_core::operator::template::{
    self, FUNCTION_TEXT_LIMIT, OUTPUT_LIMIT, TIME_LIMIT, TemplateError,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// In every generated value, never in a template: an error that contains it quotes
/// the value.
const SECRET: &str = "QX7-secret-value";

fn render_checked(t: &str, v: &Value) -> Result<String, TemplateError> {
    let started = Instant::now();
    let out = template::render(t, v);
    // The time limit, plus what the checks before the thread and a loaded machine take.
    let took = started.elapsed();
    assert!(took < TIME_LIMIT + Duration::from_secs(2), "{took:?}: {t}");
    match &out {
        Ok(text) => assert!(text.len() <= OUTPUT_LIMIT, "{} bytes: {t}", text.len()),
        Err(e) => assert!(!e.to_string().contains(SECRET), "{e}: {t}"),
    }
    out
}

fn name() -> impl Strategy<Value = String> {
    (0..4u8).prop_map(|i| format!("t{i}"))
}

fn printf() -> impl Strategy<Value = String> {
    let width = prop_oneof![
        Just(String::new()),
        (0u64..100).prop_map(|w| w.to_string()),
        (60_000u64..70_000).prop_map(|w| w.to_string()),
        any::<u64>().prop_map(|w| w.to_string()),
        Just("*".to_string()),
        Just("[0]".to_string()),
        Just("[1]*".to_string()),
    ];
    let precision = prop_oneof![
        Just(String::new()),
        (0u64..10).prop_map(|p| format!(".{p}")),
        any::<u32>().prop_map(|p| format!(".{p}")),
    ];
    let verb = prop::sample::select(vec!['d', 's', 'v', 'x', 'q', 'f', 'e', 'c', 'b', 'U']);
    let arg = prop_oneof![
        Just(".".to_string()),
        Just("$".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("1.5".to_string()),
        Just("\"s\"".to_string()),
    ];
    (
        prop::collection::vec(
            (
                prop::sample::select(vec!["", "0", "-", "+", "#", " "]),
                width,
                precision,
                verb,
            ),
            1..4,
        ),
        prop::collection::vec(arg, 0..4),
    )
        .prop_map(|(verbs, args)| {
            let format: String = verbs
                .iter()
                .map(|(flag, w, p, v)| format!("%{flag}{w}{p}{v}"))
                .collect();
            format!("printf \"{format}\" {}", args.join(" "))
        })
}

/// One piece of a template; `depth` bounds how many pieces nest.
fn piece(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        4 => prop::sample::select(vec![
            "x",
            "{\"a\": ",
            "{{.}}",
            "{{$}}",
            "{{len .}}",
            "{{index . 0}}",
            "{{.field.deeper}}",
            "{{ . | base64 }}",
            "{{urlquery .}}",
            "{{print . . . .}}",
            "{{println $ .}}",
        ])
        .prop_map(str::to_string),
        2 => printf().prop_map(|p| format!("{{{{{p}}}}}")),
        1 => printf().prop_map(|p| format!("{{{{$v := {p}}}}}")),
        2 => name().prop_map(|n| format!("{{{{template \"{n}\" .}}}}")),
        1 => prop_oneof![1..8usize, 100..300usize]
            .prop_map(|n| format!("{{{{{}1{}}}}}", "(".repeat(n), ")".repeat(n))),
        // Raw text, parsed or not.
        1 => "[{}()\"`'$.a-z |-]{0,24}",
    ];
    leaf.prop_recursive(depth, 64, 4, |inner| {
        let body = prop::collection::vec(inner, 0..4).prop_map(|p| p.concat());
        prop_oneof![
            body.clone()
                .prop_map(|b| format!("{{{{range .}}}}{b}{{{{end}}}}")),
            body.clone()
                .prop_map(|b| format!("{{{{range $}}}}{b}{{{{end}}}}")),
            body.clone()
                .prop_map(|b| format!("{{{{range $i, $v := .}}}}{b}{{{{end}}}}")),
            (body.clone(), body.clone())
                .prop_map(|(a, b)| format!("{{{{if .}}}}{a}{{{{else}}}}{b}{{{{end}}}}")),
            body.clone()
                .prop_map(|b| format!("{{{{with .}}}}{b}{{{{end}}}}")),
            (any::<u32>(), body.clone())
                .prop_map(|(n, b)| format!("{{{{block \"b{n}\" .}}}}{b}{{{{end}}}}")),
        ]
    })
    .boxed()
}

fn template_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::collection::vec(piece(3), 0..4), 0..4),
        prop::collection::vec(piece(4), 1..5),
    )
        .prop_map(|(defines, body)| {
            // Defined once each (gtmpl refuses a second definition); called by any.
            let mut t: String = defines
                .into_iter()
                .enumerate()
                .map(|(n, b)| format!("{{{{define \"t{n}\"}}}}{}{{{{end}}}}", b.concat()))
                .collect();
            t.push_str(&body.concat());
            t
        })
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!(SECRET)),
        (0usize..64).prop_map(|n| json!(format!("{SECRET}{}", "x".repeat(n)))),
        any::<i64>().prop_map(|n| json!([SECRET, n])),
        Just(json!({"field": {"deeper": SECRET}})),
    ];
    prop_oneof![
        leaf.clone(),
        (1usize..2000).prop_map(|n| Value::Array((0..n).map(|i| json!([i, SECRET])).collect())),
        prop::collection::vec(leaf, 0..8).prop_map(Value::Array),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_template_and_value_panics_the_renderer_exceeds_the_caps_or_runs_unbounded(
        t in template_text(),
        v in value(),
    ) {
        let _ = render_checked(&t, &v);
    }

    #[test]
    fn no_text_at_all_panics_the_parser(t in "(\\{\\{|\\}\\}|[(){}\"`'$.a-z0-9 |:=-]){0,80}") {
        let _ = render_checked(&t, &json!(SECRET));
    }
}

#[test]
fn the_recursive_template_is_refused_naming_the_template_and_the_limit() {
    let e = render_checked(
        r#"{{define "x"}}{{template "x"}}{{end}}{{template "x"}}"#,
        &json!(SECRET),
    )
    .expect_err("refused");
    assert_eq!(
        e.to_string(),
        "calls template \"x\" recursively, which is refused (template calls are limited to 100 deep, without recursion)"
    );
}

#[test]
fn the_printf_bomb_is_refused_before_formatting() {
    let e = render_checked(r#"{{printf "%0200000000d" 1}}"#, &json!(SECRET)).expect_err("bomb");
    assert_eq!(
        e,
        TemplateError::PrintfWidth {
            asked: 200_000_000,
            limit: 65_535
        }
    );
}

#[test]
fn nested_ranges_over_a_big_list_are_refused_and_output_stays_under_the_cap() {
    let big = Value::Array((0..5000).map(|i| json!(i)).collect());
    let silent = render_checked("{{range .}}{{range $}}{{end}}{{end}}", &big);
    assert!(
        matches!(silent, Err(TemplateError::TooMuchWork { .. })),
        "{silent:?}"
    );
    let loud = render_checked("{{range .}}{{range $}}{{.}}{{end}}{{end}}", &big);
    assert!(
        matches!(
            loud,
            Err(TemplateError::TooMuchWork { .. } | TemplateError::Output { .. })
        ),
        "{loud:?}"
    );
    // A list printed once is an ordinary template.
    let once = render_checked("{{range .}}{{.}},{{end}}", &big).expect("renders");
    assert_eq!(once.matches(',').count(), 5000);
}

#[test]
fn text_made_by_functions_is_capped_even_when_it_is_never_written() {
    let hoard = "{{$x := printf \"%065535d%065535d%065535d%065535d\" 1 2 3 4}}".repeat(20);
    assert_eq!(
        render_checked(&hoard, &json!(SECRET)),
        Err(TemplateError::FunctionText {
            limit: FUNCTION_TEXT_LIMIT
        })
    );
}
