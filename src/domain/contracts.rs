//! Contract view: the event's contract with amounts in cents and formatted as dollars.
//! Readable by the event's client and its venue's staff; never written by the assistants.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};

use super::{DomainError, DomainResult, authorized_event, format_cents};
use crate::auth::principal::Principal;
use crate::store::domain::DomainStore;

#[derive(Debug, Clone, Serialize)]
pub struct ContractView {
    pub contract_id: String,
    pub status: String,
    /// Line items, each with `unit_price` and `total` formatted beside the cents.
    pub line_items: Vec<Value>,
    pub subtotal_cents: i64,
    pub tax_cents: i64,
    pub total_cents: i64,
    pub deposit_cents: i64,
    pub deposit_paid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<DateTime<Utc>>,
    /// Total minus the deposit when paid.
    pub balance_due_cents: i64,
    /// `subtotal`, `tax`, `total`, `deposit`, `balance_due` as `$1,234.56`.
    pub formatted: Value,
}

fn format_line(item: &Value) -> Value {
    let mut item = item.clone();
    if let Value::Object(map) = &mut item {
        for (cents, label) in [("unit_price_cents", "unit_price"), ("total_cents", "total")] {
            if let Some(c) = map.get(cents).and_then(Value::as_i64) {
                map.insert(label.to_owned(), Value::String(format_cents(c)));
            }
        }
    }
    item
}

pub async fn view_contract(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
) -> DomainResult<ContractView> {
    authorized_event(store, p, event_id).await?;
    let c = store
        .event_contract(event_id)
        .await?
        .ok_or_else(|| DomainError::NotFound("contract for this event".into()))?;
    let paid = if c.deposit_paid { c.deposit_cents } else { 0 };
    let balance = c.total_cents - paid;
    let line_items = c
        .line_items
        .as_array()
        .map(|a| a.iter().map(format_line).collect())
        .unwrap_or_default();
    Ok(ContractView {
        contract_id: c.id,
        status: c.status,
        line_items,
        formatted: json!({
            "subtotal": format_cents(c.subtotal_cents),
            "tax": format_cents(c.tax_cents),
            "total": format_cents(c.total_cents),
            "deposit": format_cents(c.deposit_cents),
            "balance_due": format_cents(balance),
        }),
        subtotal_cents: c.subtotal_cents,
        tax_cents: c.tax_cents,
        total_cents: c.total_cents,
        deposit_cents: c.deposit_cents,
        deposit_paid: c.deposit_paid,
        signed_at: c.signed_at,
        balance_due_cents: balance,
    })
}
