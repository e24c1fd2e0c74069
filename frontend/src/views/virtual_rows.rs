//! Tables that stay fast at 10,000 rows (issue 23): only the rows in view are in the DOM,
//! and a change to one package rewrites only its row.
//!
//! Two parts, each ignorant of what a row shows:
//!
//! - [`Rows`] follows one scope's packages through the model's journal: the keys in
//!   order (a signal that changes only when a package comes or goes) and, for each row
//!   on screen, a trigger its cells listen to. A status change notifies one trigger; no
//!   list is copied, diffed or rendered again.
//! - [`Viewport`] is the scroll container: every row is [`ROW_PX`] high (`style.css`
//!   fixes it, `.rows tbody tr`), so the rows in view follow from the scroll offset
//!   alone ([`in_view`]), and two spacer rows (one in `<thead>` under the header, one
//!   in `<tfoot>`; `<tbody>` holds package rows only, as the browser tests count them)
//!   stand in for the rows above and below, so the scrollbar is the whole table's.
//!
//! A row scrolled to is rendered, so a test looking for one finds it once it scrolls
//! there; with fewer rows than fill the view, every row is in the DOM. The container is
//! focusable: arrows, Page Up/Down, Home and End scroll it as they scroll any page.

use crate::connection::Live;
use crate::model::{Key, Model};
use hoist_proto::v1 as pb;
use leptos::prelude::*;
use std::collections::HashMap;

/// Every package row's height in CSS pixels; `.rows tbody tr` in `style.css` must say
/// the same (a browser test checks the rendered rows against it).
pub const ROW_PX: f64 = 38.0;

/// Rows rendered beyond each edge of the view: a short scroll finds them already there.
const OVERSCAN: usize = 5;

/// The rows `[start, end)` of `len` to render when the container has scrolled `top`
/// pixels and shows `height` of them. The sticky header covers the first rows' space
/// at the top, so `top / ROW_PX` is the first row that can be seen.
pub fn in_view(len: usize, top: f64, height: f64) -> (usize, usize) {
    let first = (top.max(0.0) / ROW_PX).floor() as usize;
    let last = ((top.max(0.0) + height.max(0.0)) / ROW_PX).ceil() as usize;
    let start = first.saturating_sub(OVERSCAN).min(len);
    let end = last.saturating_add(OVERSCAN).min(len);
    (start, end.max(start))
}

/// One table's packages, kept in step with the model: see the module's documentation.
#[derive(Clone, Copy)]
pub struct Rows {
    /// The scope's keys, in the model's order.
    pub keys: RwSignal<Vec<Key>>,
    /// The rows on screen: each one's trigger, and how many rows hold it.
    shown: StoredValue<HashMap<Key, (ArcTrigger, usize)>>,
}

impl Rows {
    /// Reads `scope`'s packages now (so the first render has them), then follows every
    /// change. `reread` runs after each full reread: a new snapshot, or a journal that
    /// went past this reader.
    pub fn follow(live: Live, scope: pb::Scope, reread: impl Fn() + Send + Sync + 'static) -> Self {
        let rows = Self {
            keys: RwSignal::new(Vec::new()),
            shown: StoredValue::new(HashMap::new()),
        };
        let cursor = StoredValue::new(0);
        live.model.with_untracked(|m| {
            rows.reread(m, scope);
            cursor.set_value(m.journal.cursor());
        });
        // Effects run after the change that woke them, in a microtask: several changes
        // applied in one go are read here at once, from the journal.
        Effect::new(move |_| {
            live.model.with(|m| {
                match m.journal.since(cursor.get_value()) {
                    Some(changed) => rows.apply(m, scope, changed),
                    None => {
                        rows.reread(m, scope);
                        reread();
                    }
                }
                cursor.set_value(m.journal.cursor());
            })
        });
        rows
    }

    fn reread(&self, m: &Model, scope: pb::Scope) {
        let fresh: Vec<Key> = m.keys_of_scope(scope).cloned().collect();
        if self.keys.with_untracked(|k| *k != fresh) {
            self.keys.set(fresh);
        }
        self.shown
            .with_value(|s| s.values().for_each(|(t, _)| t.notify()));
    }

    fn apply<'a>(&self, m: &Model, scope: pb::Scope, changed: impl Iterator<Item = &'a Key>) {
        let changed: Vec<&Key> = changed.filter(|k| k.0 == scope as i32).collect();
        if changed.is_empty() {
            return;
        }
        self.shown.with_value(|s| {
            for k in &changed {
                if let Some((t, _)) = s.get(*k) {
                    t.notify();
                }
            }
        });
        // Only a package that came or went changes the keys (and the rows in view).
        let listed = |keys: &Vec<Key>, k: &Key| keys.binary_search(k);
        let moved = self.keys.with_untracked(|keys| {
            changed
                .iter()
                .any(|k| listed(keys, k).is_ok() != m.package(k).is_some())
        });
        if moved {
            self.keys.update(|keys| {
                for k in changed {
                    match (listed(keys, k), m.package(k).is_some()) {
                        (Err(at), true) => keys.insert(at, k.clone()),
                        (Ok(at), false) => {
                            keys.remove(at);
                        }
                        _ => {}
                    }
                }
            });
        }
    }

    /// The trigger row `key` listens to while on screen; [`Rows::hide`] when it goes.
    pub fn show(&self, key: &Key) -> ArcTrigger {
        self.shown
            .try_update_value(|s| {
                let entry = s
                    .entry(key.clone())
                    .or_insert_with(|| (ArcTrigger::new(), 0));
                entry.1 += 1;
                entry.0.clone()
            })
            .unwrap_or_default()
    }

    pub fn hide(&self, key: &Key) {
        // The table may be gone already (a row's cleanup runs as its table's does).
        self.shown.try_update_value(|s| {
            if let Some(entry) = s.get_mut(key) {
                entry.1 -= 1;
                if entry.1 == 0 {
                    s.remove(key);
                }
            }
        });
    }
}

/// The scroll container's state: how far it has scrolled and how high it is.
#[derive(Clone, Copy)]
pub struct Viewport {
    pub top: RwSignal<f64>,
    pub height: RwSignal<f64>,
    pub node: NodeRef<leptos::html::Div>,
}

impl Viewport {
    /// The container's height before it is measured: `.rows`' `max-height: 70vh` in
    /// `style.css` (with fewer rows it is lower, and every row is rendered anyway). The
    /// first render is computed from it, so it asks the browser for no layout: reading
    /// a size before the frame is painted would lay out the new table twice.
    const MAX_HEIGHT_OF_WINDOW: f64 = 0.7;

    /// Measured once painted (the layout is done then: reading it costs nothing), on
    /// every scroll and when the window is resized.
    pub fn measured() -> Self {
        let guess = window().inner_height().ok().and_then(|h| h.as_f64());
        let viewport = Self {
            top: RwSignal::new(0.0),
            height: RwSignal::new(guess.unwrap_or(900.0) * Self::MAX_HEIGHT_OF_WINDOW),
            node: NodeRef::new(),
        };
        let measure = move || {
            if let Some(el) = viewport.node.try_get_untracked().flatten() {
                viewport.measure(&el);
            }
        };
        Effect::new(move |_| {
            if viewport.node.get().is_some() {
                request_animation_frame(move || set_timeout(measure, Default::default()));
            }
        });
        let resized = window_event_listener(leptos::ev::resize, move |_| measure());
        on_cleanup(move || resized.remove());
        viewport
    }

    /// Reads the container's offset and height (set only when changed: every row
    /// window computed from them is asked again on a change).
    pub fn measure(&self, el: &web_sys::Element) {
        let (top, height) = (f64::from(el.scroll_top()), f64::from(el.client_height()));
        if self.top.get_untracked() != top {
            self.top.set(top);
        }
        if height > 0.0 && self.height.get_untracked() != height {
            self.height.set(height);
        }
    }

    /// The rows `[start, end)` of `rows` to render, recomputed only when it changes.
    pub fn window(self, rows: Rows) -> Memo<(usize, usize)> {
        Memo::new(move |_| in_view(rows.keys.with(Vec::len), self.top.get(), self.height.get()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_rows_in_view_and_an_overscan_clamped_to_the_list() {
        // 600 px show 15.8 rows: from row 0 to 16, plus the overscan below.
        assert_eq!(in_view(10_000, 0.0, 600.0), (0, 16 + OVERSCAN));
        // Scrolled 100 rows down.
        let top = 100.0 * ROW_PX;
        assert_eq!(
            in_view(10_000, top, 600.0),
            (100 - OVERSCAN, 116 + OVERSCAN)
        );
        // At the end: the last rows, never past it.
        assert_eq!(in_view(10_000, 1e9, 600.0), (10_000, 10_000));
        assert_eq!(in_view(20, 0.0, 600.0), (0, 20));
        assert_eq!(in_view(0, 0.0, 600.0), (0, 0));
        // The end of a list scrolled as far as it goes: its last rows.
        let bottom = 10_000.0 * ROW_PX - 600.0;
        let (start, end) = in_view(10_000, bottom, 600.0);
        assert_eq!(end, 10_000);
        assert!(start < 10_000 - 15);
    }
}
