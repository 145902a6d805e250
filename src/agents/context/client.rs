//! The client assistant's context: the client, their event, what the venue offers, open
//! change requests, recent messages.

use super::*;

pub(super) async fn client(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
) -> Result<String, DomainError> {
    let event = authorized_event(store, p, event_id).await?;
    let venue = crate::domain::venues::venue_record(store, &event.venue_id).await?;
    let mut out = String::new();
    let profile = store.user_profile(&event.client_id).await?;
    let _ = writeln!(
        out,
        "Client: {}",
        profile
            .as_ref()
            .map_or(p.name.as_str(), |u| u.name.as_str())
    );
    if let Some(prefs) = profile
        .map(|u| u.preferences)
        .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()))
    {
        let _ = writeln!(out, "Preferences: {prefs}");
    }
    event_block(
        &mut out,
        &event,
        &format!(
            "{} ({}, capacity {})",
            venue.name, venue.city, venue.capacity
        ),
    );
    let elements = store.event_elements(event_id).await?;
    let _ = writeln!(
        out,
        "Elements total (active): {}",
        format_cents(active_total(&elements))
    );
    list(&mut out, "Elements", &elements, |e| element_line(e, None));
    let offerings = store.offering_briefs(&venue.id).await?;
    list(&mut out, "Venue offerings", &offerings, |o| {
        format!(
            "{} — {} ({} {}, id {})",
            o.category,
            o.name,
            format_cents(o.price_cents),
            o.unit,
            o.id
        )
    });
    let vendors = store.vendor_briefs(&venue.id, Some("approved")).await?;
    list(&mut out, "Approved vendors", &vendors, |v| {
        format!("{} ({}, id {})", v.name, v.category, v.id)
    });
    let crs = store.event_change_requests(event_id, true).await?;
    list(&mut out, "Open change requests", &crs, |c| {
        format!("{} — {} (id {})", c.request_type, c.description, c.id)
    });
    let msgs: Vec<MessageRecord> = store
        .recent_messages(&venue.id, Some(event_id), 20)
        .await?
        .into_iter()
        .filter(|m| m.recipient_type == "client" || m.sender_id == event.client_id)
        .take(5)
        .collect();
    list(&mut out, "Recent messages", &msgs, message_line);
    Ok(out)
}
