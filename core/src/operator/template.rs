//! Go `text/template` (gtmpl) run with limits: a repository's author writes the
//! `valueTemplate`s, so a template is untrusted input that must never take the process
//! down, starve it, or stop the controller that renders it.
//!
//! Each render ([`render`], [`render_with`]) goes through these steps, each with its own
//! typed error ([`TemplateError`], never quoting the value):
//! 1. **Before parsing**, on the caller's thread: the text is at most
//!    [`Limits::template_size`] long, and it holds at most [`STRUCTURE_LIMIT`] actions
//!    (`{{`) and parentheses (`(`) together. gtmpl parses and runs by recursion, and
//!    every level of nesting (an `if`, `range`, `with`, `else if`, `block`, `define`, a
//!    `template` call, a parenthesised pipeline) needs its own `{{` or `(`: so this count
//!    bounds how deep the parser and the executor recurse, whatever the text is, without
//!    having to read it the way gtmpl does. The value is at most
//!    [`VALUE_DEPTH_LIMIT`] deep (walked without recursion).
//! 2. **On a dedicated thread** with a [`STACK_SIZE`] stack (ample for the bounded
//!    recursion above; a test runs the deepest template the bound admits on it), inside
//!    [`std::panic::catch_unwind`]: a stack overflow cannot be caught, so it is
//!    prevented by 1 and 3; anything gtmpl panics on becomes [`TemplateError::Panicked`].
//! 3. **After parsing, before running**, from gtmpl's own parse tree (read through its
//!    `Debug` form, the only view gtmpl 0.7 offers of its nodes; a shape the reader does
//!    not recognise is refused, never guessed): the templates that `template` and
//!    `block` call from the root form no cycle (**recursion is refused**: Go allows it up
//!    to 100 000 calls deep, which no fixed stack survives) and chain at most
//!    [`Limits::call_depth`] deep; and the work is bounded. Each node counts once per
//!    run of the template that holds it, times `N` for each `range` around it (`N` is
//!    the length of the value's widest list or map: a `range` only ever goes over a part
//!    of the value, as no function makes a list). Each place gtmpl copies a value counts
//!    the value's size, or the output limit where a function may have made what is
//!    copied; but a `range`'s element, as the dot or as a variable only that `range`
//!    declares, counts once per run of the `range` (its items add up to the list). Nodes
//!    at [`STEP_COST`] each plus copies are at most [`Limits::work`]: nested ranges over a
//!    big list, or a fan-out of calls, are refused before they start.
//! 4. **While running**: the output goes through a writer that refuses to grow past
//!    [`Limits::output`] (1 MiB per value); every builtin function is replaced by a guard
//!    that checks the render is still wanted, and the ones that make text (`print`,
//!    `printf`, `println`, `urlquery`, `base64`) estimate their result first and refuse
//!    one over [`Limits::output`] before making it; the text they make in one render is at
//!    most [`Limits::function_text`]; `printf` refuses a width or precision over
//!    [`PRINTF_WIDTH_LIMIT`] (Rust's formatter panics past it) before formatting.
//! 5. **The caller waits at most [`Limits::time`]** (1 s) for the thread's answer.
//!
//! Guarantees: a render returns within [`Limits::time`] (plus the cheap checks of 1),
//! never panics, never overflows the stack; its output is at most [`Limits::output`];
//! an error names the limit and never quotes the value (gtmpl's messages that would
//! quote it are replaced). Templates within the limits behave exactly as gtmpl renders
//! them (the rules in `core/tests/it/glasskube_rules.rs`), except that a template that calls
//! itself is refused.
//!
//! A package's values render **as data** ([`render_data`]): the value's strings are
//! escaped for the inside of a JSON string and marked, the functions see the value as it
//! was given, and text they make from it is the value's data in turn; the caller
//! (`super::values`) reads the marks to check the value stayed data. [`render`] pastes
//! the value's text as gtmpl does.
//!
//! Caveat: a thread cannot be killed. A render abandoned at its time limit keeps its
//! thread until gtmpl returns: the thread stops at its next write or function call (both
//! fail once the render is abandoned), and between those it only walks nodes and copies
//! values, which step 3 bounded; so it ends by itself, typically within a second, using
//! one core meanwhile. The bound of step 3 counts what gtmpl does per node as constant
//! (a variable is found by a scan of the variables in scope, at most
//! [`STRUCTURE_LIMIT`]).

use gtmpl::{Func, FuncError, Value as G};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The most text one value's template may render (1 MiB).
pub const OUTPUT_LIMIT: usize = 1 << 20;
/// The most text the functions of one render may make in all (4 MiB).
pub const FUNCTION_TEXT_LIMIT: usize = 4 << 20;
/// The widest `printf` width or precision: Rust's formatter panics past `u16::MAX`.
pub const PRINTF_WIDTH_LIMIT: u64 = u16::MAX as u64;
/// The longest template text (64 KiB): real value templates are a line or two.
pub const TEMPLATE_SIZE_LIMIT: usize = 64 << 10;
/// The most actions (`{{`) and parentheses (`(`) one template may hold: bounds how deep
/// gtmpl recurses (see the module doc).
pub const STRUCTURE_LIMIT: usize = 500;
/// How deep `template` calls may chain.
pub const CALL_DEPTH_LIMIT: usize = 100;
/// The most work one render may do, in bytes copied (a node visited counts as
/// [`STEP_COST`]).
pub const WORK_LIMIT: u64 = 1 << 28;
/// What visiting one node costs, in the bytes of [`WORK_LIMIT`].
pub const STEP_COST: u64 = 256;
/// How deeply the value may nest (serde_json reads no deeper than 128).
pub const VALUE_DEPTH_LIMIT: usize = 128;
/// How long the caller waits for a render.
pub const TIME_LIMIT: Duration = Duration::from_secs(1);
/// The stack of a render's thread: a debug build needs about 24 KiB per level of
/// nesting, so [`STRUCTURE_LIMIT`] levels need about 12 MiB; reserved, not used, until
/// touched.
pub const STACK_SIZE: usize = 64 << 20;

/// The limits a render runs under; [`Limits::default`] is what packages get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub output: usize,
    pub function_text: usize,
    pub template_size: usize,
    pub call_depth: usize,
    pub work: u64,
    pub time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            output: OUTPUT_LIMIT,
            function_text: FUNCTION_TEXT_LIMIT,
            template_size: TEMPLATE_SIZE_LIMIT,
            call_depth: CALL_DEPTH_LIMIT,
            work: WORK_LIMIT,
            time: TIME_LIMIT,
        }
    }
}

/// Why a template gave no text. Every message reads after "the valueTemplate" and never
/// quotes the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// gtmpl refused the text (its message, which quotes the template, not the value).
    #[error("{0}")]
    Parse(String),
    /// gtmpl failed while running it (messages that would quote the value replaced).
    #[error("{0}")]
    Render(String),
    #[error("is {size} bytes long, over the {} template size limit", bytes(*.limit))]
    TooLong { size: usize, limit: usize },
    #[error(
        "has {count} actions and parentheses, over the {limit} limit (it bounds how deep a template nests)"
    )]
    TooComplex { count: usize, limit: usize },
    #[error("gets a value nested more than {limit} deep, over the value depth limit")]
    ValueTooDeep { limit: usize },
    #[error(
        "calls template {name:?} recursively, which is refused (template calls are limited to {limit} deep, without recursion)"
    )]
    Recursive { name: String, limit: usize },
    #[error("chains template calls {depth} deep, over the {limit} template call depth limit")]
    TooDeep { depth: usize, limit: usize },
    #[error(
        "could do up to {work} units of work for this value (nodes visited and bytes copied), over the {limit} work limit"
    )]
    TooMuchWork { work: u64, limit: u64 },
    #[error("exceeds the {} output limit", bytes(*.limit))]
    Output { limit: usize },
    #[error("makes more than the {} of text its functions may make in one render", bytes(*.limit))]
    FunctionText { limit: usize },
    #[error("asks printf for a width or precision of {asked}, over the {limit} limit")]
    PrintfWidth { asked: u64, limit: u64 },
    #[error("took longer than the {}s time limit and was abandoned", .limit.as_secs_f64())]
    Time { limit: Duration },
    #[error("crashed the template engine (a panic inside gtmpl) and is refused")]
    Panicked,
    #[error("cannot be checked against the template limits ({0}) and is refused")]
    Unchecked(String),
}

impl TemplateError {
    /// Whether a limit refused the template (as opposed to gtmpl refusing it): the
    /// message then stands without the template's text.
    pub fn is_limit(&self) -> bool {
        !matches!(self, Self::Parse(_) | Self::Render(_))
    }
}

/// `n` bytes in words: `1 MiB`, `64 KiB`, `100 bytes`.
fn bytes(n: usize) -> String {
    match n {
        n if n >= 1 << 20 && n % (1 << 20) == 0 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 && n % (1 << 10) == 0 => format!("{} KiB", n >> 10),
        n => format!("{n} bytes"),
    }
}

/// Renders `template` with `value` as `.` under the default [`Limits`]; `base64` is
/// available besides gtmpl's builtins. The value's text is pasted as it is: a package's
/// values go through [`render_data`] instead.
pub fn render(template: &str, value: &Value) -> Result<String, TemplateError> {
    render_with(template, value, &Limits::default())
}

/// [`render`] under `limits`.
pub fn render_with(
    template: &str,
    value: &Value,
    limits: &Limits,
) -> Result<String, TemplateError> {
    run_job(template, value, limits, false)
}

/// Marks where a value's text starts in the output of [`render_data`] (a private-use
/// character: a value holding it has it escaped, `\ue000`).
pub const VALUE_START: char = '\u{E000}';
/// Marks where a value's text ends in the output of [`render_data`].
pub const VALUE_END: char = '\u{E001}';

/// Renders `template` with `value` as `.` **as data**, under the default [`Limits`]:
/// 1. Every string in the value (in lists and maps too) is escaped for the inside of a
///    JSON string ([`escape`]: `"` → `\"`, `\` → `\\`, control characters as `\n`, `\u0001`,
///    …) and, when not empty, marked with [`VALUE_START`] … [`VALUE_END`]. A map's keys
///    are escaped, not marked (`.field` still finds them). So `"{{.}}"` writes exactly
///    the JSON string of the value, and a value never puts a bare `"` in the output.
/// 2. The functions see the **original** value: the comparisons (`eq`, `ne`, `lt`, `le`,
///    `gt`, `ge`) and `len` get each marked string back as it was given (so
///    `eq . "a\"b"` and `len .` are as in Glasskube); `index` gets its keys with the marks
///    taken off (escaped, as the map's keys are). A function that makes text (`base64`,
///    `print`, `printf`, `println`, `urlquery`) from an argument that holds the value's
///    text makes it from the original text (`base64` of `p"w` is `cCJ3`, as in
///    Glasskube), and its result is the value's data in turn: escaped and marked.
///    From text the author wrote alone, every function works as in gtmpl.
///
/// The result keeps the marks, so that the caller can tell the value's text from the
/// author's ([`unmarked`] takes them off). The marks are exact for a string of the
/// value and for the text a function made from one; a map's key written by `range`, a
/// number, a boolean, and a list or map printed whole (`[]`, `map[]`-like text) are not
/// marked, and hold no `"` either.
pub fn render_data(template: &str, value: &Value) -> Result<String, TemplateError> {
    render_data_with(template, value, &Limits::default())
}

/// [`render_data`] under `limits`.
pub fn render_data_with(
    template: &str,
    value: &Value,
    limits: &Limits,
) -> Result<String, TemplateError> {
    // Bounds the recursion of `as_data`.
    Shape::of(value).ok_or(TemplateError::ValueTooDeep {
        limit: VALUE_DEPTH_LIMIT,
    })?;
    run_job(template, &as_data(value), limits, true)
}

/// `s` escaped for the inside of a JSON string: exactly what serde_json writes between
/// the quotes (`"`, `\`, and the control characters, `\b`, `\f`, `\n`, `\r`, `\t` or
/// `\u00xx`), and the two mark characters as `\ue000` and `\ue001`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == VALUE_START || c == VALUE_END => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` without the marks of [`render_data`].
pub fn unmarked(text: &str) -> String {
    text.replace([VALUE_START, VALUE_END], "")
}

/// `s` as the value's data: escaped and marked (an empty string stays empty, so that it
/// stays false for `if`).
fn mark(s: &str) -> String {
    if s.is_empty() {
        return String::new();
    }
    format!("{VALUE_START}{}{VALUE_END}", escape(s))
}

/// `value` as a template sees it in [`render_data`]. Recursive: the caller bounded the
/// depth.
fn as_data(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(mark(s)),
        Value::Array(a) => Value::Array(a.iter().map(as_data).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (escape(k), as_data(v))).collect()),
        other => other.clone(),
    }
}

/// `text` with each marked span given back as the value had it (unescaped) and the
/// marks taken off.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(VALUE_START) {
        out.push_str(&unmarked(&rest[..i]));
        let after = &rest[i + VALUE_START.len_utf8()..];
        let (body, next) = match after.find(VALUE_END) {
            Some(j) => (&after[..j], &after[j + VALUE_END.len_utf8()..]),
            None => (after, ""),
        };
        let body = unmarked(body);
        match serde_json::from_str::<String>(&format!("\"{body}\"")) {
            Ok(original) => out.push_str(&original),
            // Never the case for a span `mark` made.
            Err(_) => out.push_str(&body),
        }
        rest = next;
    }
    out.push_str(&unmarked(rest));
    out
}

/// Whether `v` holds a mark anywhere. Walks without recursion.
fn has_marks(v: &G) -> bool {
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        match v {
            G::String(s) if s.contains([VALUE_START, VALUE_END]) => return true,
            G::Array(a) => todo.extend(a.iter()),
            G::Object(o) | G::Map(o) => todo.extend(o.values()),
            _ => {}
        }
    }
    false
}

/// `v` with every string [`plain`]. Recursive: gtmpl makes no list, so `v` is at most
/// as deep as the value.
fn plain_value(v: &G) -> G {
    match v {
        G::String(s) => G::String(plain(s)),
        G::Array(a) => G::Array(a.iter().map(plain_value).collect()),
        G::Object(o) => G::Object(o.iter().map(|(k, v)| (k.clone(), plain_value(v))).collect()),
        G::Map(o) => G::Map(o.iter().map(|(k, v)| (k.clone(), plain_value(v))).collect()),
        other => other.clone(),
    }
}

/// Runs one render on its own thread (see the module doc); `data`: the value was made
/// data by [`render_data_with`].
fn run_job(
    template: &str,
    value: &Value,
    limits: &Limits,
    data: bool,
) -> Result<String, TemplateError> {
    if template.len() > limits.template_size {
        return Err(TemplateError::TooLong {
            size: template.len(),
            limit: limits.template_size,
        });
    }
    let count = template.matches("{{").count() + template.bytes().filter(|b| *b == b'(').count();
    if count > STRUCTURE_LIMIT {
        return Err(TemplateError::TooComplex {
            count,
            limit: STRUCTURE_LIMIT,
        });
    }
    let shape = Shape::of(value).ok_or(TemplateError::ValueTooDeep {
        limit: VALUE_DEPTH_LIMIT,
    })?;
    let cancel = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let job = Job {
        template: template.to_string(),
        value: value.clone(),
        shape,
        limits: limits.clone(),
        cancel: cancel.clone(),
        data,
    };
    let spawned = std::thread::Builder::new()
        .name("hoist-template".into())
        .stack_size(STACK_SIZE)
        .spawn(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run()))
                .unwrap_or(Err(TemplateError::Panicked));
            // The caller may have stopped waiting: nobody to tell then.
            let _ = tx.send(out);
        });
    if let Err(e) = spawned {
        return Err(TemplateError::Render(format!(
            "no thread could be started to render it: {e}"
        )));
    }
    match rx.recv_timeout(limits.time) {
        Ok(out) => out,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            cancel.store(true, Ordering::Relaxed);
            Err(TemplateError::Time { limit: limits.time })
        }
        // The thread ended without an answer: only a panic outside catch_unwind does.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(TemplateError::Panicked),
    }
}

/// What bounds the work over a value: its size (about its bytes), and the length of its
/// widest list or map (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    size: u64,
    widest: u64,
}

impl Shape {
    /// `None` when `value` nests deeper than [`VALUE_DEPTH_LIMIT`]. Walks without
    /// recursion.
    fn of(value: &Value) -> Option<Self> {
        let mut shape = Shape { size: 0, widest: 1 };
        let mut todo = vec![(value, 0usize)];
        while let Some((v, depth)) = todo.pop() {
            if depth > VALUE_DEPTH_LIMIT {
                return None;
            }
            shape.size = shape.size.saturating_add(8);
            match v {
                Value::String(s) => shape.size = shape.size.saturating_add(s.len() as u64),
                Value::Array(a) => {
                    shape.widest = shape.widest.max(a.len() as u64);
                    todo.extend(a.iter().map(|v| (v, depth + 1)));
                }
                Value::Object(o) => {
                    shape.widest = shape.widest.max(o.len() as u64);
                    for (k, v) in o {
                        shape.size = shape.size.saturating_add(k.len() as u64);
                        todo.push((v, depth + 1));
                    }
                }
                _ => shape.size = shape.size.saturating_add(24),
            }
        }
        Some(shape)
    }
}

/// One render, as its thread runs it.
struct Job {
    template: String,
    value: Value,
    shape: Shape,
    limits: Limits,
    cancel: Arc<AtomicBool>,
    data: bool,
}

/// The state the guarded functions and the writer share within a render's thread
/// (gtmpl's functions are plain `fn`s: a thread-local is their only context).
struct Run {
    cancel: Arc<AtomicBool>,
    limits: Limits,
    /// Text the functions made so far.
    made: usize,
    /// The limit a function or the writer hit, reported instead of gtmpl's message.
    hit: Option<TemplateError>,
    /// The value is data ([`render_data`]): the functions see it as it was given.
    data: bool,
}

thread_local! {
    static RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
}

impl Job {
    fn run(self) -> Result<String, TemplateError> {
        RUN.with(|r| {
            *r.borrow_mut() = Some(Run {
                cancel: self.cancel.clone(),
                limits: self.limits.clone(),
                made: 0,
                hit: None,
                data: self.data,
            })
        });
        let mut t = gtmpl::Template::default();
        t.add_funcs(&guarded::FUNCS);
        t.parse(self.template.as_str())
            .map_err(|e| TemplateError::Parse(e.to_string()))?;
        let work = analyse(&t, self.shape, &self.limits)?;
        if work > self.limits.work {
            return Err(TemplateError::TooMuchWork {
                work,
                limit: self.limits.work,
            });
        }
        let ctx = gtmpl::Context::from(to_template_value(&self.value));
        let mut out = Capped {
            buf: Vec::new(),
            limit: self.limits.output,
            cancel: self.cancel.clone(),
        };
        let done = t.execute(&mut out, &ctx);
        if let Some(hit) = RUN.with(|r| r.borrow_mut().as_mut().and_then(|r| r.hit.take())) {
            return Err(hit);
        }
        done.map_err(|e| TemplateError::Render(sanitize(e)))?;
        String::from_utf8(out.buf)
            .map_err(|_| TemplateError::Render("the output is not UTF-8".into()))
    }
}

/// Records `e` as the limit this render hit (the first one counts) and gives gtmpl an
/// error to stop on.
fn hit(e: TemplateError) -> FuncError {
    RUN.with(|r| {
        if let Some(run) = r.borrow_mut().as_mut()
            && run.hit.is_none()
        {
            run.hit = Some(e);
        }
    });
    FuncError::Generic("a template limit was hit".into())
}

/// Fails once the render was abandoned.
fn still_wanted() -> Result<(), FuncError> {
    let abandoned = RUN.with(|r| {
        r.borrow()
            .as_ref()
            .is_some_and(|r| r.cancel.load(Ordering::Relaxed))
    });
    if abandoned {
        return Err(FuncError::Generic("the render was abandoned".into()));
    }
    Ok(())
}

/// Refuses a function result estimated at `estimate` bytes before it is made.
fn may_make(estimate: usize) -> Result<(), FuncError> {
    still_wanted()?;
    let limit = RUN.with(|r| {
        r.borrow()
            .as_ref()
            .map_or(OUTPUT_LIMIT, |r| r.limits.output)
    });
    if estimate > limit {
        return Err(hit(TemplateError::Output { limit }));
    }
    Ok(())
}

/// Counts `made` bytes of function-made text; refuses past the render's budget.
fn made(text: G) -> Result<G, FuncError> {
    let len = match &text {
        G::String(s) => s.len(),
        _ => 0,
    };
    let over = RUN.with(|r| {
        let mut r = r.borrow_mut();
        let run = r.as_mut()?;
        run.made = run.made.saturating_add(len);
        if len > run.limits.output {
            return Some(TemplateError::Output {
                limit: run.limits.output,
            });
        }
        (run.made > run.limits.function_text).then_some(TemplateError::FunctionText {
            limit: run.limits.function_text,
        })
    });
    match over {
        Some(e) => Err(hit(e)),
        None => Ok(text),
    }
}

/// An upper bound of the bytes `v` prints as (arrays and maps print in Rust's `Debug`
/// form, which may escape each byte of a string into up to 6), and how many items it
/// has itself (`printf` pads each item of a list). Walks without recursion.
fn printed(v: &G) -> (usize, usize) {
    let items = match v {
        G::String(s) => return (s.len(), 0),
        G::Array(a) => a.len(),
        G::Object(o) | G::Map(o) => o.len(),
        _ => 0,
    };
    let mut size = 0usize;
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        size = size.saturating_add(64);
        match v {
            G::String(s) => size = size.saturating_add(s.len().saturating_mul(6)),
            G::Array(a) => todo.extend(a.iter()),
            G::Object(o) | G::Map(o) => {
                for (k, v) in o {
                    size = size.saturating_add(k.len().saturating_mul(6));
                    todo.push(v);
                }
            }
            _ => {}
        }
    }
    (size, items)
}

/// gtmpl's `printf` verbs, as its tokenizer ends a verb.
const PRINTF_VERBS: &str = "vVtTbcdoqxXUeEfFgGsp";

/// Checks a `printf` call before it formats: no width or precision over
/// [`PRINTF_WIDTH_LIMIT`] (written, or taken from an argument with `*`), and an output
/// estimate within the output limit.
fn printf_check(args: &[G]) -> Result<(), FuncError> {
    still_wanted()?;
    let Some(G::String(format)) = args.first() else {
        return Ok(());
    };
    let rest = &args[1..];
    let (mut verbs, mut widest, mut widths, mut star, mut expands) =
        (0usize, 0u64, 0u64, false, false);
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            continue;
        }
        if chars.peek() == Some(&'%') {
            chars.next();
            continue;
        }
        verbs += 1;
        let mut number: Option<u64> = None;
        for c in chars.by_ref() {
            if let Some(d) = c.to_digit(10) {
                number = Some(
                    number
                        .unwrap_or(0)
                        .saturating_mul(10)
                        .saturating_add(u64::from(d)),
                );
                continue;
            }
            if let Some(n) = number.take() {
                widest = widest.max(n);
                widths = widths.saturating_add(n);
            }
            if c == '*' {
                star = true;
            }
            if PRINTF_VERBS.contains(c) {
                expands |= matches!(c, 'q' | 'x' | 'X');
                break;
            }
        }
        if let Some(n) = number {
            widest = widest.max(n);
            widths = widths.saturating_add(n);
        }
    }
    if star {
        for a in rest {
            if let G::Number(n) = a {
                let asked = match (n.as_i64(), n.as_u64()) {
                    (Some(i), _) => i.unsigned_abs(),
                    (None, Some(u)) => u,
                    _ => 0,
                };
                widest = widest.max(asked);
                widths = widths.saturating_add(asked);
            }
        }
    }
    if widest > PRINTF_WIDTH_LIMIT {
        return Err(hit(TemplateError::PrintfWidth {
            asked: widest,
            limit: PRINTF_WIDTH_LIMIT,
        }));
    }
    let (size, items) = rest.iter().map(printed).fold((0usize, 0usize), |a, b| {
        (a.0.saturating_add(b.0), a.1.max(b.1))
    });
    // Each verb pads its argument, or each item of a list, to its width.
    let padding = usize::try_from(widths)
        .unwrap_or(usize::MAX)
        .saturating_add(verbs.saturating_mul(32))
        .saturating_mul(items.saturating_add(1));
    let estimate = format
        .len()
        .saturating_add(padding)
        .saturating_add(size.saturating_mul(if expands { 6 } else { 1 }));
    may_make(estimate)
}

/// The builtins behind guards: each checks the render is still wanted; the ones that
/// make text estimate it first and count what they made.
mod guarded {
    use super::*;

    macro_rules! still_wanted_then {
        ($($name:ident),* $(,)?) => {
            $(
                fn $name(args: &[G]) -> Result<G, FuncError> {
                    still_wanted()?;
                    gtmpl::funcs::$name(args)
                }
            )*
        };
    }
    still_wanted_then!(and, or, not, call);

    /// Whether this render's value is data ([`render_data`]) and `args` hold its text.
    fn holds_data(args: &[G]) -> bool {
        let data = RUN.with(|r| r.borrow().as_ref().is_some_and(|r| r.data));
        data && args.iter().any(has_marks)
    }

    macro_rules! on_the_original {
        ($($name:ident),* $(,)?) => {
            $(
                /// As in gtmpl, on the value as it was given.
                fn $name(args: &[G]) -> Result<G, FuncError> {
                    still_wanted()?;
                    if holds_data(args) {
                        let plain: Vec<G> = args.iter().map(plain_value).collect();
                        return gtmpl::funcs::$name(&plain);
                    }
                    gtmpl::funcs::$name(args)
                }
            )*
        };
    }
    on_the_original!(eq, ne, lt, le, gt, ge, len);

    /// As in gtmpl, with the marks taken off the keys (a map's keys are escaped).
    fn index(args: &[G]) -> Result<G, FuncError> {
        still_wanted()?;
        if holds_data(args) {
            let keys: Vec<G> = args
                .iter()
                .map(|a| match a {
                    G::String(s) => G::String(unmarked(s)),
                    other => other.clone(),
                })
                .collect();
            return gtmpl::funcs::index(&keys);
        }
        gtmpl::funcs::index(args)
    }

    /// `make`'s text, made from the original value when `args` hold its text, and then
    /// the value's data itself: escaped and marked.
    fn text(args: &[G], make: fn(&[G]) -> Result<G, FuncError>) -> Result<G, FuncError> {
        if !holds_data(args) {
            return made(make(args)?);
        }
        let plain: Vec<G> = args.iter().map(plain_value).collect();
        match make(&plain)? {
            G::String(s) => made(G::String(mark(&s))),
            other => Ok(other),
        }
    }

    fn print(args: &[G]) -> Result<G, FuncError> {
        let estimate = args
            .iter()
            .map(|a| printed(a).0.saturating_add(1))
            .fold(0usize, usize::saturating_add);
        may_make(estimate)?;
        text(args, gtmpl::funcs::print)
    }

    fn println(args: &[G]) -> Result<G, FuncError> {
        let estimate = args
            .iter()
            .map(|a| printed(a).0.saturating_add(1))
            .fold(1usize, usize::saturating_add);
        may_make(estimate)?;
        text(args, gtmpl::funcs::println)
    }

    fn printf(args: &[G]) -> Result<G, FuncError> {
        printf_check(args)?;
        text(args, gtmpl::funcs::printf)
    }

    fn urlquery(args: &[G]) -> Result<G, FuncError> {
        let estimate = args
            .iter()
            .map(|a| printed(a).0.saturating_mul(3))
            .fold(0usize, usize::saturating_add);
        may_make(estimate)?;
        text(args, gtmpl::funcs::urlquery)
    }

    /// Glasskube's one added function: the argument's text in standard base64 (of the
    /// value as it was given, when the argument holds the value's text).
    fn base64(args: &[G]) -> Result<G, FuncError> {
        let [arg] = args else {
            return Err(FuncError::ExactlyXArgs("base64".into(), 1));
        };
        may_make(printed(arg).0.saturating_mul(4) / 3 + 4)?;
        text(args, encode_base64)
    }

    fn encode_base64(args: &[G]) -> Result<G, FuncError> {
        use base64::Engine;
        let [arg] = args else {
            return Err(FuncError::ExactlyXArgs("base64".into(), 1));
        };
        let text = match arg {
            G::String(s) => s.clone(),
            other => other.to_string(),
        };
        Ok(G::from(
            base64::engine::general_purpose::STANDARD.encode(text),
        ))
    }

    /// Every function a template can call: gtmpl's builtins, each guarded, and
    /// `base64`.
    pub(super) const FUNCS: [(&str, Func); 17] = [
        ("eq", eq as Func),
        ("ne", ne as Func),
        ("lt", lt as Func),
        ("le", le as Func),
        ("gt", gt as Func),
        ("ge", ge as Func),
        ("len", len as Func),
        ("and", and as Func),
        ("or", or as Func),
        ("not", not as Func),
        ("index", index as Func),
        ("call", call as Func),
        ("print", print as Func),
        ("println", println as Func),
        ("printf", printf as Func),
        ("urlquery", urlquery as Func),
        ("base64", base64 as Func),
    ];
}

/// The output, refused past `limit` and once the render is abandoned.
struct Capped {
    buf: Vec<u8>,
    limit: usize,
    cancel: Arc<AtomicBool>,
}

impl std::io::Write for Capped {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("the render was abandoned"));
        }
        if self.buf.len().saturating_add(data.len()) > self.limit {
            let _ = hit(TemplateError::Output { limit: self.limit });
            return Err(std::io::Error::other("the output limit was hit"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// gtmpl's message for `e`, except where it would quote a value (a range over a
/// string, a missing field, a function's arguments).
fn sanitize(e: gtmpl::error::ExecError) -> String {
    use gtmpl::error::ExecError as E;
    match e {
        E::InvalidRange(_) => "range can only go over a list or a map".into(),
        E::NoFiledFor(field, _) => format!("no field {field}"),
        E::FuncError(
            f @ (FuncError::AtLeastXArgs(..)
            | FuncError::ExactlyXArgs(..)
            | FuncError::UnableToConvertFromValue),
        ) => f.to_string(),
        E::FuncError(_) => {
            "a function could not use its arguments (not shown: they may hold a secret)".into()
        }
        E::IOError(_) => "the output could not be written".into(),
        E::Utf8ConversionFailed(_) => "the output is not UTF-8".into(),
        other => other.to_string(),
    }
}

fn to_template_value(v: &Value) -> G {
    match v {
        Value::Null => G::Nil,
        Value::Bool(b) => G::from(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => G::from(i),
            (None, Some(f)) => G::from(f),
            _ => G::from(n.to_string()),
        },
        Value::String(s) => G::from(s.clone()),
        Value::Array(a) => G::Array(a.iter().map(to_template_value).collect()),
        Value::Object(o) => G::Map(
            o.iter()
                .map(|(k, v)| (k.clone(), to_template_value(v)))
                .collect(),
        ),
    }
}

/// Counts of what running a template costs, each node counted once per run of the
/// nodes around it (`N` times per enclosing `range`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Cost {
    /// Nodes visited.
    steps: u64,
    /// Copies, each of at most the value or one function's text.
    copies: u64,
}

impl Cost {
    /// `self` plus `other` run `times` times.
    fn plus(self, other: Cost, times: u64) -> Cost {
        Cost {
            steps: self.steps.saturating_add(other.steps.saturating_mul(times)),
            copies: self
                .copies
                .saturating_add(other.copies.saturating_mul(times)),
        }
    }
}

/// What one template (the root or a `define`/`block`) does in one run of it, read from
/// its parse tree.
#[derive(Debug, Default, PartialEq, Eq)]
struct Facts {
    /// Its cost, the templates it calls aside.
    cost: Cost,
    /// Whether it calls a function that makes text (a copy may then be of that text).
    makes_text: bool,
    /// The templates it calls (by their `Debug`-quoted names), each with the number of
    /// `range`s around the call.
    calls: Vec<(String, u32)>,
}

/// A token of Rust's `Debug` form of a parse tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Word(&'a str),
    /// A string or char literal, quotes and escapes included.
    Quoted(&'a str),
    Open(u8),
    Close(u8),
    Colon,
    Comma,
}

/// Splits `Debug` output into tokens; `Err` on anything `Debug` of gtmpl's nodes does
/// not print (the reader then refuses, never guesses).
fn tokens(s: &str) -> Result<Vec<Tok<'_>>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let word = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'+');
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\n' | b'\t' | b'\r' => i += 1,
            b'{' | b'(' | b'[' => {
                out.push(Tok::Open(c));
                i += 1;
            }
            b'}' | b')' | b']' => {
                out.push(Tok::Close(c));
                i += 1;
            }
            b':' => {
                out.push(Tok::Colon);
                i += 1;
            }
            b',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            b'"' | b'\'' => {
                let start = i;
                i += 1;
                loop {
                    match b.get(i) {
                        None => return Err("an unterminated literal".into()),
                        Some(b'\\') => i += 2,
                        Some(q) if *q == c => {
                            i += 1;
                            break;
                        }
                        Some(_) => i += 1,
                    }
                }
                out.push(Tok::Quoted(
                    s.get(start..i).ok_or("a literal out of place")?,
                ));
            }
            c if word(c) => {
                let start = i;
                while b.get(i).is_some_and(|c| word(*c)) {
                    i += 1;
                }
                out.push(Tok::Word(&s[start..i]));
            }
            other => return Err(format!("an unexpected character {:?}", other as char)),
        }
    }
    Ok(out)
}

/// Rust's `Debug` form, read back: `Name { field: value }`, `Name(value)`, `[value]`,
/// literals and words.
#[derive(Debug, PartialEq, Eq)]
enum D<'a> {
    Struct(&'a str, Vec<(&'a str, D<'a>)>),
    Tuple(&'a str, Vec<D<'a>>),
    List(Vec<D<'a>>),
    Quoted(&'a str),
    Word(&'a str),
}

impl<'a> D<'a> {
    /// Reads the whole of `toks` as one value.
    fn read(toks: &[Tok<'a>]) -> Result<D<'a>, String> {
        let mut at = 0;
        let d = Self::value(toks, &mut at)?;
        if at != toks.len() {
            return Err("text after the tree".into());
        }
        Ok(d)
    }

    fn value(toks: &[Tok<'a>], at: &mut usize) -> Result<D<'a>, String> {
        let t = toks.get(*at).copied();
        *at += 1;
        match t {
            Some(Tok::Quoted(q)) => Ok(D::Quoted(q)),
            Some(Tok::Word(w)) => match toks.get(*at) {
                Some(Tok::Open(b'{')) => {
                    *at += 1;
                    Self::fields(toks, at).map(|f| D::Struct(w, f))
                }
                Some(Tok::Open(b'(')) => {
                    *at += 1;
                    Self::items(toks, at, b')').map(|v| D::Tuple(w, v))
                }
                _ => Ok(D::Word(w)),
            },
            Some(Tok::Open(b'[')) => Self::items(toks, at, b']').map(D::List),
            Some(Tok::Open(b'(')) => Self::items(toks, at, b')').map(|v| D::Tuple("", v)),
            other => Err(format!("{other:?} where a value belongs")),
        }
    }

    /// Values up to the `close` bracket.
    fn items(toks: &[Tok<'a>], at: &mut usize, close: u8) -> Result<Vec<D<'a>>, String> {
        let mut out = Vec::new();
        loop {
            if toks.get(*at) == Some(&Tok::Close(close)) {
                *at += 1;
                return Ok(out);
            }
            out.push(Self::value(toks, at)?);
            match toks.get(*at) {
                Some(Tok::Comma) => *at += 1,
                Some(Tok::Close(c)) if *c == close => {}
                other => return Err(format!("{other:?} after a value")),
            }
        }
    }

    /// `field: value` pairs up to the `}`.
    fn fields(toks: &[Tok<'a>], at: &mut usize) -> Result<Vec<(&'a str, D<'a>)>, String> {
        let mut out = Vec::new();
        loop {
            match toks.get(*at) {
                Some(Tok::Close(b'}')) => {
                    *at += 1;
                    return Ok(out);
                }
                Some(Tok::Word(name)) if toks.get(*at + 1) == Some(&Tok::Colon) => {
                    *at += 2;
                    out.push((name, Self::value(toks, at)?));
                }
                other => return Err(format!("{other:?} where a field belongs")),
            }
            match toks.get(*at) {
                Some(Tok::Comma) => *at += 1,
                Some(Tok::Close(b'}')) => {}
                other => return Err(format!("{other:?} after a field")),
            }
        }
    }

    fn field(fields: &'a [(&'a str, D<'a>)], name: &str) -> Option<&'a D<'a>> {
        fields.iter().find(|(f, _)| *f == name).map(|(_, v)| v)
    }
}

/// gtmpl's node kinds, by their `Nodes` variant.
const NODE_KINDS: [&str; 20] = [
    "List",
    "Text",
    "Pipe",
    "Action",
    "Command",
    "Identifier",
    "Variable",
    "Dot",
    "Nil",
    "Field",
    "Chain",
    "Bool",
    "Number",
    "String",
    "End",
    "Else",
    "If",
    "With",
    "Range",
    "Template",
];

/// The functions that make text (a variable or a dot may then hold up to the output
/// limit of it).
const TEXT_FUNCTIONS: [&str; 5] = ["print", "printf", "println", "urlquery", "base64"];

/// Where in a template a node is: how many `range`s are around it, and whether its
/// dot is the element of the innermost of them (not a `with`'s value).
#[derive(Debug, Clone, Copy)]
struct At {
    ranges: u32,
    dot_is_element: bool,
}

/// Reads one template's [`Facts`] from its tree, for a value whose widest list or map
/// has `widest` items.
///
/// Copies are counted where gtmpl makes them: a dot, each name of a field or variable
/// chain, a declared variable, each stage of a pipeline after the first, a range over
/// a map, a template call (twice). A copy of the dot inside a `range` is of that range's
/// element, and the elements of one run of a range add up to at most the value: so
/// such a copy counts `N` times less; the same for a variable that only a `range`
/// declares.
struct Walker<'a> {
    widest: u64,
    element_vars: std::collections::HashSet<&'a str>,
    facts: Facts,
}

impl<'a> Walker<'a> {
    fn facts(tree: &'a D<'a>, widest: u64) -> Result<Facts, String> {
        let mut declared: HashMap<&'a str, (u32, u32)> = HashMap::new();
        declarations(tree, false, &mut declared);
        let mut w = Walker {
            widest,
            element_vars: declared
                .into_iter()
                .filter(|(_, (all, by_range))| *all == 1 && *by_range == 1)
                .map(|(name, _)| name)
                .collect(),
            facts: Facts::default(),
        };
        w.walk(
            tree,
            At {
                ranges: 0,
                dot_is_element: false,
            },
        )?;
        Ok(w.facts)
    }

    fn times(&self, ranges: u32) -> u64 {
        self.widest.saturating_pow(ranges)
    }

    fn copies(&mut self, ranges: u32, n: u64) {
        let c = &mut self.facts.cost.copies;
        *c = c.saturating_add(self.widest.saturating_pow(ranges).saturating_mul(n));
    }

    /// The `range`s that count for a copy of the dot at `at`.
    fn dot_ranges(at: At) -> u32 {
        at.ranges.saturating_sub(u32::from(at.dot_is_element))
    }

    fn walk(&mut self, d: &'a D<'a>, at: At) -> Result<(), String> {
        match d {
            D::Tuple(kind, items) => match items.as_slice() {
                // `Some(ListNode { .. })` holds a node; `If(BranchNode { .. })` is one.
                [D::Struct(name, fields)] if name.ends_with("Node") && *kind != "Some" => {
                    if !NODE_KINDS.contains(kind) {
                        return Err(format!("a node of an unknown kind {kind}"));
                    }
                    self.node(kind, fields, at)
                }
                _ => items.iter().try_for_each(|i| self.walk(i, at)),
            },
            // A node held in a field: `pipe: PipeNode { .. }`, `list: ListNode { .. }`.
            D::Struct(name, fields) => match name.strip_suffix("Node") {
                Some(kind) if NODE_KINDS.contains(&kind) => self.node(kind, fields, at),
                _ => {
                    self.facts.cost.steps =
                        self.facts.cost.steps.saturating_add(self.times(at.ranges));
                    fields.iter().try_for_each(|(_, v)| self.walk(v, at))
                }
            },
            D::List(items) => items.iter().try_for_each(|i| self.walk(i, at)),
            D::Quoted(_) | D::Word(_) => Ok(()),
        }
    }

    fn node(&mut self, kind: &str, fields: &'a [(&'a str, D<'a>)], at: At) -> Result<(), String> {
        self.facts.cost.steps = self.facts.cost.steps.saturating_add(self.times(at.ranges));
        let field = |name: &str| D::field(fields, name);
        let walk = |w: &mut Self, name: &str, at: At| match field(name) {
            Some(d) => w.walk(d, at),
            None => Ok(()),
        };
        let segments = |name: &str| match field(name) {
            Some(D::List(names)) => names.len().max(1) as u64,
            _ => 1,
        };
        match kind {
            "List" => walk(self, "nodes", at),
            "Action" => walk(self, "pipe", at),
            "Command" => walk(self, "args", at),
            "Pipe" => {
                if let Some(D::List(decl)) = field("decl") {
                    self.copies(at.ranges, decl.len() as u64);
                }
                if let Some(D::List(cmds)) = field("cmds") {
                    // Each stage after the first gets the one before's result, copied.
                    self.copies(at.ranges, cmds.len().saturating_sub(1) as u64);
                }
                walk(self, "cmds", at)
            }
            "Identifier" => {
                if let Some(D::Quoted(q)) = field("ident") {
                    let name = q.trim_matches('"');
                    self.facts.makes_text |= TEXT_FUNCTIONS.contains(&name);
                }
                Ok(())
            }
            "Dot" => {
                self.copies(Self::dot_ranges(at), 1);
                Ok(())
            }
            "Field" => {
                self.copies(Self::dot_ranges(at), segments("ident"));
                Ok(())
            }
            "Variable" => {
                let element = match field("ident") {
                    Some(D::List(names)) => {
                        matches!(names.first(), Some(D::Quoted(q)) if self.element_vars.contains(q))
                    }
                    _ => false,
                };
                let ranges = at.ranges.saturating_sub(u32::from(element));
                self.copies(ranges, segments("ident"));
                Ok(())
            }
            "Chain" => {
                self.copies(at.ranges, segments("field").saturating_add(1));
                walk(self, "node", at)
            }
            "If" => {
                walk(self, "pipe", at)?;
                walk(self, "list", at)?;
                walk(self, "else_list", at)
            }
            "With" => {
                walk(self, "pipe", at)?;
                walk(
                    self,
                    "list",
                    At {
                        dot_is_element: false,
                        ..at
                    },
                )?;
                walk(self, "else_list", at)
            }
            "Range" => {
                // A map is copied before it is ranged over.
                self.copies(at.ranges, 1);
                walk(self, "pipe", at)?;
                walk(
                    self,
                    "list",
                    At {
                        ranges: at.ranges.saturating_add(1),
                        dot_is_element: true,
                    },
                )?;
                walk(self, "else_list", at)
            }
            "Template" => {
                let called = match field("name") {
                    Some(D::Tuple("String", name)) => match name.as_slice() {
                        [D::Quoted(q)] => *q,
                        _ => return Err("a template call of an unknown shape".into()),
                    },
                    _ => return Err("a template called by a computed name".into()),
                };
                self.facts.calls.push((called.to_string(), at.ranges));
                // The value is copied into the call's dot and its `$`.
                self.copies(at.ranges, 2);
                walk(self, "pipe", at)
            }
            // Text, literals, and the End and Else markers a finished tree never holds.
            _ => Ok(()),
        }
    }
}

/// Counts, per variable name (`Debug`-quoted), its declarations and how many of them a
/// `range` makes (`by_range`: `d` is the pipeline of a `range`).
fn declarations<'a>(d: &'a D<'a>, by_range: bool, out: &mut HashMap<&'a str, (u32, u32)>) {
    match d {
        D::Struct("PipeNode", fields) => {
            for (f, v) in fields {
                match (*f, v) {
                    ("decl", D::List(vars)) => {
                        for var in vars {
                            let name = match var {
                                D::Struct(_, vf) => match D::field(vf, "ident") {
                                    Some(D::List(names)) => match names.first() {
                                        Some(D::Quoted(q)) => Some(*q),
                                        _ => None,
                                    },
                                    _ => None,
                                },
                                _ => None,
                            };
                            if let Some(name) = name {
                                let e = out.entry(name).or_default();
                                e.0 += 1;
                                e.1 += u32::from(by_range);
                            }
                        }
                    }
                    _ => declarations(v, false, out),
                }
            }
        }
        D::Tuple("Range", items) => {
            for item in items {
                match item {
                    D::Struct(_, fields) => {
                        for (f, v) in fields {
                            declarations(v, *f == "pipe", out);
                        }
                    }
                    other => declarations(other, false, out),
                }
            }
        }
        D::Tuple(_, items) | D::List(items) => {
            for i in items {
                declarations(i, false, out);
            }
        }
        D::Struct(_, fields) => {
            for (_, v) in fields {
                declarations(v, false, out);
            }
        }
        D::Quoted(_) | D::Word(_) => {}
    }
}

/// The [`Facts`] of one template from the `Debug` form of its root.
fn facts(debug: &str, widest: u64) -> Result<Facts, String> {
    let toks = tokens(debug)?;
    let tree = D::read(&toks)?;
    Walker::facts(&tree, widest)
}

/// Checks the templates reachable from the root: no recursion, calls at most
/// `call_depth` deep; returns the work of one render for a value of `shape`: the nodes
/// visited at [`STEP_COST`] each, the copies at the value's size each (or at the output
/// limit each, when a function may have made what is copied).
fn analyse(t: &gtmpl::Template, shape: Shape, limits: &Limits) -> Result<u64, TemplateError> {
    let call_depth = limits.call_depth;
    let unchecked = TemplateError::Unchecked;
    let by_quoted: HashMap<String, &str> = t
        .tree_set
        .keys()
        .map(|k| (format!("{k:?}"), k.as_str()))
        .collect();
    let mut facts_of: HashMap<&str, Facts> = HashMap::new();
    let fact = |name: &str| -> Result<Facts, TemplateError> {
        let tree = t
            .tree_set
            .get(name)
            .ok_or_else(|| unchecked(format!("no template {name:?}")))?;
        facts(&format!("{:?}", tree.root), shape.widest).map_err(unchecked)
    };
    /// A template being walked, or walked with its cost (its calls' included) and
    /// call depth.
    enum Mark {
        Walking,
        Done { cost: Cost, depth: usize },
    }
    let root = t.name.as_str();
    if !t.tree_set.contains_key(root) {
        // gtmpl says so when it runs.
        return Ok(STEP_COST);
    }
    let mut marks: HashMap<&str, Mark> = HashMap::new();
    marks.insert(root, Mark::Walking);
    facts_of.insert(root, fact(root)?);
    let mut stack: Vec<(&str, usize)> = vec![(root, 0)];
    while let Some(&(name, next)) = stack.last() {
        let calls = &facts_of[name].calls;
        if let Some((quoted, _)) = calls.get(next) {
            if let Some(top) = stack.last_mut() {
                top.1 += 1;
            }
            // A call of a template that does not exist fails when it runs.
            let Some(&callee) = by_quoted.get(quoted) else {
                continue;
            };
            match marks.get(callee) {
                Some(Mark::Walking) => {
                    return Err(TemplateError::Recursive {
                        name: callee.to_string(),
                        limit: call_depth,
                    });
                }
                Some(Mark::Done { .. }) => {}
                None => {
                    marks.insert(callee, Mark::Walking);
                    let f = fact(callee)?;
                    facts_of.insert(callee, f);
                    stack.push((callee, 0));
                }
            }
            continue;
        }
        let f = &facts_of[name];
        let (mut cost, mut depth) = (f.cost, 0usize);
        for (quoted, ranges) in &f.calls {
            let (c, d) = match by_quoted.get(quoted).and_then(|c| marks.get(c)) {
                Some(Mark::Done { cost, depth }) => (*cost, *depth),
                _ => (Cost::default(), 0),
            };
            cost = cost.plus(c, shape.widest.saturating_pow(*ranges));
            depth = depth.max(d + 1);
        }
        if depth > call_depth {
            return Err(TemplateError::TooDeep {
                depth,
                limit: call_depth,
            });
        }
        marks.insert(name, Mark::Done { cost, depth });
        stack.pop();
    }
    let Some(Mark::Done { cost, .. }) = marks.get(root) else {
        return Err(unchecked("the root template was not walked".into()));
    };
    let makes_text = facts_of.values().any(|f| f.makes_text);
    let copy = if makes_text {
        shape.size.max(limits.output as u64)
    } else {
        shape.size
    }
    .max(1);
    Ok(cost
        .steps
        .saturating_mul(STEP_COST)
        .saturating_add(cost.copies.saturating_mul(copy)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(v: &str) -> Value {
        Value::String(v.into())
    }

    #[test]
    fn ordinary_templates_render_as_gtmpl_renders_them() {
        // gtmpl itself, as Hoist used it before the limits.
        let plain = |t: &str, v: &Value| {
            let mut g = gtmpl::Template::default();
            let base64 = guarded::FUNCS.iter().filter(|(n, _)| *n == "base64");
            g.add_funcs(&base64.copied().collect::<Vec<_>>());
            g.parse(t).map_err(|e| e.to_string())?;
            g.render(&gtmpl::Context::from(to_template_value(v)))
                .map_err(|e| e.to_string())
        };
        let list = json!([1, "two", {"three": 3}]);
        for (t, v) in [
            ("{{.}}", s("3")),
            (r#"{{ if eq . "" }}false{{ else }}true{{ end }}"#, s("")),
            (r#"{{if .}}"{{.}}"{{else}}null{{end}}"#, s("abc")),
            (r#"{{define "q"}}"{{.}}"{{end}}{{template "q" .}}"#, s("a")),
            (r#"{{block "b" .}}[{{.}}]{{end}}"#, s("x")),
            ("{{range $i, $v := .}}{{$i}}={{$v}},{{end}}", list.clone()),
            (
                "{{len .}} {{index . 1}} {{(index . 2).three}}",
                list.clone(),
            ),
            (
                r#"{{printf "%05d|%-3s|%.2f|%x|%q" 42 "a" 1.5 255 "q"}}"#,
                s(""),
            ),
            (
                r#"{{print 1 2 "x"}}{{println "y"}}{{urlquery "a b"}}"#,
                s(""),
            ),
            ("{{ . | base64 }}", s("hunter2")),
            (
                "{{and 1 0}} {{or 0 2}} {{not .}} {{ne 1 2}} {{lt 1 2}}",
                s(""),
            ),
        ] {
            assert_eq!(render(t, &v), Ok(plain(t, &v).expect(t)), "{t}");
        }
        assert_eq!(
            render("{{ . | base64 }}", &s("hunter2")).as_deref(),
            Ok("aHVudGVyMg==")
        );
        assert!(matches!(
            render("{{ if }}", &s("x")),
            Err(TemplateError::Parse(_))
        ));
    }

    #[test]
    fn a_template_that_calls_itself_is_refused_before_it_runs() {
        for t in [
            r#"{{define "x"}}{{template "x"}}{{end}}{{template "x"}}"#,
            r#"{{define "x"}}{{range .}}{{template "y" .}}{{end}}{{end}}{{define "y"}}{{if .}}{{template "x" .}}{{end}}{{end}}{{template "x" .}}"#,
        ] {
            let e = render(t, &s("v")).expect_err("recursive");
            assert!(matches!(e, TemplateError::Recursive { .. }), "{e:?}");
            assert!(e.to_string().contains("recursively"), "{e}");
        }
        // A recursive definition nobody calls is harmless, as in Go.
        assert_eq!(
            render(r#"{{define "x"}}{{template "x"}}{{end}}ok"#, &s("v")).as_deref(),
            Ok("ok")
        );
    }

    #[test]
    fn a_chain_of_calls_deeper_than_the_limit_is_refused() {
        let chain = |n: usize| {
            let mut t = String::new();
            for i in 0..n {
                t += &format!(
                    "{{{{define \"t{i}\"}}}}{{{{template \"t{}\" .}}}}{{{{end}}}}",
                    i + 1
                );
            }
            t + &format!("{{{{define \"t{n}\"}}}}x{{{{end}}}}{{{{template \"t0\" .}}}}")
        };
        assert_eq!(render(&chain(20), &s("v")).as_deref(), Ok("x"));
        let limits = Limits {
            call_depth: 10,
            ..Limits::default()
        };
        let e = render_with(&chain(20), &s("v"), &limits).expect_err("too deep");
        assert!(
            matches!(e, TemplateError::TooDeep { limit: 10, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn the_deepest_nesting_the_structure_limit_admits_runs_on_the_render_stack() {
        let n = STRUCTURE_LIMIT;
        let chain = |links: usize, body: &str| {
            let mut t = String::new();
            for i in 0..links {
                let call = format!("{{{{template \"t{}\" .}}}}", i + 1);
                t += &format!(
                    "{{{{define \"t{i}\"}}}}{}{{{{end}}}}",
                    body.replace("CALL", &call)
                );
            }
            t + &format!("{{{{define \"t{links}\"}}}}x{{{{end}}}}{{{{template \"t0\" .}}}}")
        };
        // Each the deepest its kind of nesting gets within the limit.
        let deepest = [
            format!("{}x{}", "{{if 1}}".repeat(n / 2), "{{end}}".repeat(n / 2)),
            format!("{}x{}", "{{with .}}".repeat(n / 2), "{{end}}".repeat(n / 2)),
            format!(
                "{}x{}",
                "{{range $}}".repeat(n / 2),
                "{{end}}".repeat(n / 2)
            ),
            format!("{{{{if 0}}}}{}x{{{{end}}}}", "{{else if 0}}".repeat(n - 2)),
            format!("{{{{{}1{}}}}}", "(".repeat(n - 1), ")".repeat(n - 1)),
            format!(
                "{{{{if 1}}}}{{{{{}1{}}}}}{{{{end}}}}",
                "(".repeat(n - 3),
                ")".repeat(n - 3)
            ),
            chain((n - 3) / 3, "CALL"),
            chain((n - 3) / 5, "{{if 1}}CALL{{end}}"),
        ];
        let limits = Limits {
            call_depth: n,
            ..Limits::default()
        };
        for t in &deepest {
            let count = t.matches("{{").count() + t.matches('(').count();
            assert!(count <= n && count > n - 6, "{count}: {t}");
            let out = render_with(t, &json!([1]), &limits).expect("renders");
            assert!(out == "x" || out == "1" || out.is_empty(), "{out}");
        }
        let over = format!(
            "{}x{}",
            "{{if 1}}".repeat(n / 2 + 1),
            "{{end}}".repeat(n / 2 + 1)
        );
        assert!(matches!(
            render(&over, &s("v")),
            Err(TemplateError::TooComplex { .. })
        ));
    }

    #[test]
    fn a_huge_printf_width_is_refused_before_formatting() {
        for t in [
            r#"{{printf "%0200000000d" 1}}"#,
            r#"{{printf "%.200000000f" 1.5}}"#,
            r#"{{printf "%*d" 200000000 1}}"#,
            r#"{{printf "%[1]*d" -9223372036854775808 1}}"#,
            r#"{{printf "%99999999999999999999999s" "a"}}"#,
        ] {
            let e = render(t, &s("v")).expect_err(t);
            assert!(matches!(e, TemplateError::PrintfWidth { .. }), "{t}: {e:?}");
            assert!(e.to_string().contains("65535 limit"), "{e}");
        }
        // Within the width limit but over the output limit once repeated.
        let wide = format!("{{{{printf \"{}\" 1}}}}", "%065535d".repeat(20));
        assert_eq!(
            render(&wide, &s("v")),
            Err(TemplateError::Output {
                limit: OUTPUT_LIMIT
            })
        );
    }

    #[test]
    fn output_past_the_cap_is_refused_and_the_message_names_the_limit() {
        let t = r#"{{define "a"}}{{printf "%060000d" 0}}{{end}}{{define "b"}}{{template "a"}}{{template "a"}}{{template "a"}}{{template "a"}}{{end}}{{template "b"}}{{template "b"}}{{template "b"}}{{template "b"}}{{template "b"}}"#;
        let e = render(t, &s("v")).expect_err("over 1 MiB");
        assert_eq!(
            e,
            TemplateError::Output {
                limit: OUTPUT_LIMIT
            }
        );
        assert_eq!(e.to_string(), "exceeds the 1 MiB output limit");
        // Text made by functions but never written counts too.
        let hoard = format!(
            "{}ok",
            "{{$x := printf \"%065535d%065535d%065535d%065535d%065535d%065535d%065535d%065535d\" 1 2 3 4 5 6 7 8}}".repeat(12)
        );
        assert_eq!(
            render(&hoard, &s("v")),
            Err(TemplateError::FunctionText {
                limit: FUNCTION_TEXT_LIMIT
            })
        );
    }

    #[test]
    fn nested_ranges_over_a_big_list_are_refused_before_they_run() {
        let big = Value::Array((0..1000).map(|i| json!(i)).collect());
        let t = "{{range .}}{{range $}}{{range $}}{{end}}{{end}}{{end}}";
        let e = render(t, &big).expect_err("too much work");
        assert!(matches!(e, TemplateError::TooMuchWork { .. }), "{e:?}");
        // One range over the same list is fine.
        let one = render("{{range .}}{{end}}{{len .}}", &big);
        assert_eq!(one.as_deref(), Ok("1000"));
        // A fan-out of calls with no output and no function: refused the same way.
        let mut fan = String::from(r#"{{define "t0"}}{{end}}"#);
        for i in 1..40 {
            fan += &format!(
                "{{{{define \"t{i}\"}}}}{{{{template \"t{}\"}}}}{{{{template \"t{}\"}}}}{{{{end}}}}",
                i - 1,
                i - 1
            );
        }
        fan += r#"{{template "t39"}}"#;
        let e = render(&fan, &s("v")).expect_err("2^39 calls");
        assert!(matches!(e, TemplateError::TooMuchWork { .. }), "{e:?}");
    }

    #[test]
    fn a_render_over_its_time_is_abandoned() {
        // About a million steps: far longer than a millisecond.
        let t = "{{range .}}{{range $}}x{{end}}{{end}}";
        let list = Value::Array((0..1000).map(|_| json!(0)).collect());
        let limits = Limits {
            time: Duration::from_millis(1),
            output: usize::MAX,
            function_text: usize::MAX,
            work: u64::MAX,
            ..Limits::default()
        };
        let started = std::time::Instant::now();
        let e = render_with(t, &list, &limits).expect_err("too slow");
        assert_eq!(
            e,
            TemplateError::Time {
                limit: Duration::from_millis(1)
            }
        );
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(e.to_string().contains("0.001s time limit"), "{e}");
    }

    #[test]
    fn a_panic_inside_gtmpl_is_an_error_not_a_crash() {
        // gtmpl computes `index - 1` for `%[0]d`: an overflow panic in a debug build,
        // an error in a release one; either way, an error here.
        let e = render(r#"{{printf "%[0]d" 1}}"#, &s("v")).expect_err("refused");
        assert!(
            matches!(e, TemplateError::Panicked | TemplateError::Render(_)),
            "{e:?}"
        );
    }

    #[test]
    fn errors_never_quote_the_value() {
        let secret = s("hunter2-secret");
        for t in [
            "{{range .}}{{end}}",
            "{{.missing}}",
            "{{index . 3}}",
            r#"{{printf "%d" .}}"#,
            "{{len 3}}",
        ] {
            let e = render(t, &secret).expect_err(t);
            assert!(!e.to_string().contains("hunter2"), "{t}: {e}");
        }
        let map = json!({"password": "hunter2-secret"});
        let e = render("{{.password.x}}", &map).expect_err("no field");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn every_builtin_is_guarded() {
        let guarded: Vec<&str> = guarded::FUNCS.iter().map(|(n, _)| *n).collect();
        for (name, _) in gtmpl::funcs::BUILTINS {
            assert!(guarded.contains(name), "{name} is not guarded");
        }
    }

    #[test]
    fn the_parse_tree_reader_sees_ranges_calls_and_copies() {
        let read = |t: &str, widest: u64| {
            let mut g = gtmpl::Template::default();
            g.add_funcs(&guarded::FUNCS);
            g.parse(t).expect("parses");
            facts(&format!("{:?}", g.tree_set[""].root), widest).expect("read")
        };
        let f = read(
            r#"{{define "a\"b"}}x{{end}}{{range .}}{{range .}}{{template "a\"b" (printf "%s" ")}")}}{{end}}{{end}}"#,
            1,
        );
        assert_eq!(f.calls, vec![(format!("{:?}", "a\"b"), 2)]);
        assert!(f.makes_text);
        let f10 = read(
            r#"{{range .}}{{range .}}{{template "a\"b" (printf "%s" ")}")}}{{end}}{{end}}"#,
            10,
        );
        assert!(f10.cost.steps > 100 * 5, "{:?}", f10.cost);
        // The element of a range, as the dot or as its variable, is copied once per
        // item: the items add up to the value.
        let once = read("{{range .}}{{.}}{{.a.b}}{{end}}", 1000);
        let per = read("{{range $i, $v := .}}{{$v}}{{$i}}{{end}}", 1000);
        let root = read("{{range .}}{{$}}{{end}}", 1000);
        let with = read("{{range .}}{{with $}}{{.}}{{end}}{{end}}", 1000);
        assert!(once.cost.copies < 20, "{:?}", once.cost);
        assert!(per.cost.copies < 20, "{:?}", per.cost);
        assert!(root.cost.copies >= 1000, "{:?}", root.cost);
        assert!(with.cost.copies >= 1000, "{:?}", with.cost);
        // A variable a range declares but the body declares again may hold anything.
        let shadowed = read("{{range $v := .}}{{$v := $}}{{$v}}{{end}}", 1000);
        assert!(shadowed.cost.copies >= 1000, "{:?}", shadowed.cost);
        assert!(tokens("Range(\u{1F600})").is_err(), "refused, not guessed");
        assert!(D::read(&tokens("A { b: [c, d) }").expect("tokens")).is_err());
    }

    #[test]
    fn too_long_templates_and_too_deep_values_are_refused() {
        let long = "x".repeat(TEMPLATE_SIZE_LIMIT + 1);
        assert!(matches!(
            render(&long, &s("v")),
            Err(TemplateError::TooLong { .. })
        ));
        let mut deep = json!(1);
        for _ in 0..200 {
            deep = json!([deep]);
        }
        assert_eq!(
            render("{{.}}", &deep),
            Err(TemplateError::ValueTooDeep {
                limit: VALUE_DEPTH_LIMIT
            })
        );
    }
}
