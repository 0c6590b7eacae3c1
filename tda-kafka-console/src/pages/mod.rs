//! One module per page group. Handlers return `Result<Markup, ConsoleError>`;
//! the error renders as an error page with the matching status.

pub(crate) mod connectors;
pub(crate) mod groups;
pub(crate) mod messages;
pub(crate) mod overview;
pub(crate) mod schemas;
pub(crate) mod tda;
pub(crate) mod topics;

use maud::{html, Markup};

use crate::layout::{csrf, page};
use crate::server::AppState;

/// What a handler returns.
pub(crate) type Page = crate::Result<Markup>;

/// Whether a form's `confirm` field says the change was confirmed.
pub(crate) fn confirmed(v: &Option<String>) -> bool {
    v.as_deref() == Some("yes")
}

/// The confirmation step of a change: shows what will happen and re-posts
/// the same fields with `confirm=yes`.
pub(crate) fn confirm_page(
    state: &AppState,
    title: &str,
    active: &str,
    action: &str,
    fields: &[(&str, &str)],
    summary: Markup,
    danger: bool,
) -> Markup {
    page(
        state,
        title,
        active,
        html! {
            h1 { (title) }
            div.notice { (summary) }
            form.box method="post" action=(action) id="confirm-form" {
                (csrf(state))
                @for (k, v) in fields {
                    input type="hidden" name=(k) value=(v);
                }
                input type="hidden" name="confirm" value="yes";
                button type="submit" id="confirm" class=[danger.then_some("danger")] { "Confirm" }
                " "
                a href=(action.rsplit_once('/').map_or(action, |(a, _)| a)) { "Cancel" }
            }
        },
    )
}

/// A change form (hidden when the console is read-only).
pub(crate) fn change_form(state: &AppState, id: &str, action: &str, body: Markup) -> Markup {
    if state.opts.read_only {
        return html! {};
    }
    html! {
        form.box method="post" action=(action) id=(id) {
            (csrf(state))
            (body)
        }
    }
}
