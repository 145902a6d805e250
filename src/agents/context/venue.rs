//! The staff assistants' context: the venue overview (`venue_general`) and one event in
//! full (`venue_event`).

use super::*;

pub(super) async fn general(
    store: &DomainStore,
    p: &Principal,
    venue_id: &str,
) -> Result<String, DomainError> {
    let venue = crate::domain::venues::venue(store, p, venue_id).await?;
    let now = Utc::now();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Venue: {} (id {}), {}, {}; capacity {}",
        venue.name, venue.id, venue.address, venue.city, venue.capacity
    );
    let _ = writeln!(out, "Today: {}", now.format("%a %b %-d, %Y"));
    let q = EventQuery {
        from: Some(now),
        to: Some(now + Duration::days(60)),
        status: None,
        limit: 100,
    };
    let events = store.venue_events(venue_id, &q).await?;
    list(&mut out, "Events in the next 60 days", &events, |e| {
        format!(
            "{} — {} [{}], {} guests (id {})",
            when(e.event_date),
            e.name,
            e.status,
            e.guest_count,
            e.id
        )
    });
    let vendors = store.vendor_briefs(venue_id, None).await?;
    list(&mut out, "Vendor relationships", &vendors, |v| {
        format!("{} ({}) — {}", v.name, v.category, v.status)
    });
    let tasks = store
        .venue_tasks(
            venue_id,
            &TaskQuery {
                limit: 2000,
                ..TaskQuery::default()
            },
        )
        .await?;
    let mut by_status: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &tasks {
        *by_status.entry(t.status.as_str()).or_default() += 1;
    }
    let open = |s: &str| s == "pending" || s == "in_progress";
    let overdue = tasks
        .iter()
        .filter(|t| open(&t.status) && t.due_at.is_some_and(|d| d < now))
        .count();
    let counts: Vec<String> = by_status.iter().map(|(s, n)| format!("{s} {n}")).collect();
    let _ = writeln!(
        out,
        "\nTasks: {}; overdue: {overdue}",
        if counts.is_empty() {
            "none".into()
        } else {
            counts.join(", ")
        }
    );
    let unread = store.unread_venue_messages(venue_id).await?;
    let msgs = store.recent_messages(venue_id, None, 5).await?;
    let _ = writeln!(out, "\nMessages: {unread} unread addressed to the venue");
    list(&mut out, "Latest messages", &msgs, message_line);
    Ok(out)
}

pub(super) async fn venue_event(
    store: &DomainStore,
    p: &Principal,
    event_id: &str,
) -> Result<String, DomainError> {
    crate::domain::require_staff(p)?;
    let event = authorized_event(store, p, event_id).await?;
    let venue = crate::domain::venues::venue_record(store, &event.venue_id).await?;
    let mut out = String::new();
    event_block(
        &mut out,
        &event,
        &format!("{} (capacity {})", venue.name, venue.capacity),
    );
    if let Some(c) = store.user_profile(&event.client_id).await? {
        let _ = writeln!(
            out,
            "Client: {} <{}>{} (id {})",
            c.name,
            c.email,
            c.phone.map(|p| format!(", {p}")).unwrap_or_default(),
            c.id
        );
        if c.preferences.as_object().is_some_and(|o| !o.is_empty()) {
            let _ = writeln!(out, "Client preferences: {}", c.preferences);
        }
    }
    let guests = count_guests(&store.event_guests(event_id, None).await?);
    let _ = writeln!(
        out,
        "Guests: {} listed, {} attending, {} pending; {} heads of capacity {}",
        guests.total, guests.attending, guests.pending, guests.counted_heads, venue.capacity
    );
    let elements = store.event_elements(event_id).await?;
    let names = vendor_names(store, &elements).await?;
    let _ = writeln!(
        out,
        "Elements total (active): {}",
        format_cents(active_total(&elements))
    );
    list(&mut out, "Elements", &elements, |e| {
        element_line(
            e,
            e.vendor_id
                .as_ref()
                .map(|v| names.get(v).map_or(v.as_str(), String::as_str)),
        )
    });
    let tq = TaskQuery {
        event_id: Some(event_id.into()),
        statuses: vec!["pending".into(), "in_progress".into()],
        due_before: None,
        limit: 100,
    };
    let tasks = store.venue_tasks(&venue.id, &tq).await?;
    list(&mut out, "Open tasks", &tasks, |t| {
        format!(
            "{} [{} , {}]{}",
            t.title,
            t.status,
            t.priority,
            t.due_at
                .map(|d| format!(" due {}", when(d)))
                .unwrap_or_default()
        )
    });
    let msgs = store.recent_messages(&venue.id, Some(event_id), 5).await?;
    list(&mut out, "Recent communication", &msgs, message_line);
    let crs = store.event_change_requests(event_id, true).await?;
    list(&mut out, "Open change requests", &crs, |c| {
        format!(
            "{} — {} (id {}, element {})",
            c.request_type,
            c.description,
            c.id,
            c.element_id.as_deref().unwrap_or("new")
        )
    });
    Ok(out)
}
