//! Demo tasks, messages and change requests.

use entity::{change_requests, event_elements, messages, tasks};
use serde_json::json;

use super::people::{CHLOE, DANIEL, EMILY, GRACE, JORDAN, LIAM, MAYA, NOAH, OLIVIA, ROSA, SAMUEL};
use super::{Clock, demo_id, table};

/// (venue, event, title, description, assignee, status, priority, due in days)
type TaskRow = (
    u32,
    Option<u32>,
    &'static str,
    Option<&'static str>,
    Option<u32>,
    &'static str,
    &'static str,
    Option<i64>,
);

#[rustfmt::skip]
const TASKS: &[TaskRow] = &[
    (1, Some(1), "Confirm final headcount with Emily", Some("Caterer needs numbers 3 weeks out."), Some(MAYA), "pending", "high", Some(24)),
    (1, Some(1), "Schedule vegetarian menu tasting", Some("Emily and James, two people, weekday evening."), Some(MAYA), "pending", "medium", Some(-1)),
    (1, Some(3), "Send stage and AV plan to Lumen Lighting", None, Some(JORDAN), "in_progress", "medium", Some(-2)),
    (1, Some(4), "Collect deposit for Grace's birthday", None, Some(MAYA), "done", "high", Some(-10)),
    (1, Some(5), "Reply to Bennett & Co. winter party inquiry", Some("Send the corporate package and two Friday dates."), Some(JORDAN), "pending", "high", Some(1)),
    (1, None, "Quarterly fire safety inspection", None, Some(JORDAN), "pending", "low", Some(14)),
    (1, Some(6), "Send thank-you note to Thompson Law", None, Some(MAYA), "done", "low", Some(-25)),
    (2, Some(7), "Approve vegan menu for the Okafor–Reyes wedding", Some("Chef proposal attached to the change request."), Some(OLIVIA), "pending", "high", Some(-3)),
    (2, Some(7), "Finalize shuttle schedule", None, Some(SAMUEL), "pending", "medium", Some(90)),
    (2, Some(8), "Confirm string quartet set list", None, Some(OLIVIA), "in_progress", "medium", Some(7)),
    (2, Some(10), "Send brunch proposal to Chloe", None, Some(SAMUEL), "pending", "medium", Some(2)),
    (2, Some(9), "Site walkthrough with the Rivera family", None, Some(OLIVIA), "pending", "low", Some(10)),
    (2, Some(11), "Process refund for cancelled retreat", None, Some(SAMUEL), "done", "medium", Some(-5)),
    (2, None, "Restock garden chairs", None, None, "cancelled", "low", None),
];

/// Who a message goes to.
enum To {
    Client(u32),
    Venue(u32),
    Vendor(u32),
}

/// (venue, event, sender, sender name, recipient, subject, body, days ago, read)
type MessageRow = (
    u32,
    Option<u32>,
    u32,
    &'static str,
    To,
    Option<&'static str>,
    &'static str,
    i64,
    bool,
);

#[rustfmt::skip]
const MESSAGES: &[MessageRow] = &[
    (1, Some(1), MAYA, "Maya Chen", To::Client(EMILY), Some("Menu tasting"), "Hi Emily! Golden Fork can host your vegetarian menu tasting next Tuesday or Thursday at 6pm. Which works for you and James?", 6, true),
    (1, Some(1), EMILY, "Emily Parker", To::Venue(MAYA), Some("Re: Menu tasting"), "Thursday is perfect. Could we also try the gluten-free dessert option?", 5, true),
    (1, Some(1), MAYA, "Maya Chen", To::Vendor(2), Some("Parker wedding centerpieces"), "Confirming 15 centerpieces in sage and ivory for the Parker wedding; delivery by 1pm please.", 4, true),
    (1, Some(3), JORDAN, "Jordan Ellis", To::Vendor(6), Some("BrightLabs launch lighting"), "Could you quote branded gobo projection plus stage wash for a 20-minute keynote?", 3, false),
    (1, Some(3), LIAM, "Liam Novak", To::Venue(JORDAN), Some("Keynote timing"), "Our CEO goes on stage at 7:15pm. Can the bar stay closed until the keynote ends?", 2, false),
    (1, Some(4), MAYA, "Maya Chen", To::Client(GRACE), Some("You're confirmed!"), "Your birthday on the terrace is confirmed. The cake will stay hidden in the kitchen until 9pm.", 9, true),
    (1, Some(5), NOAH, "Noah Bennett", To::Venue(JORDAN), Some("Winter party inquiry"), "We're looking for a Friday evening for about 100 people. What packages do you offer?", 1, false),
    (2, Some(7), OLIVIA, "Olivia Grant", To::Client(DANIEL), Some("Vegan menu"), "Chef has drafted a vegan harvest menu for your 30 plant-based guests; it needs your approval.", 4, true),
    (2, Some(7), DANIEL, "Daniel Okafor", To::Venue(OLIVIA), Some("Re: Vegan menu"), "Looks great. Can we also add a late-night taco truck?", 3, true),
    (2, Some(7), ROSA, "Rosa Delgado", To::Venue(OLIVIA), Some("Arch design"), "Attached two arch designs with white garden roses and olive branches for the lakeside ceremony.", 2, false),
    (2, Some(8), SAMUEL, "Samuel Ortiz", To::Vendor(5), Some("Ramirez anniversary"), "The couple would love 'Besame Mucho' as their entrance song. Can the quartet arrange it?", 5, true),
    (2, Some(10), CHLOE, "Chloe Martin", To::Venue(SAMUEL), Some("Dessert table"), "We'd rather skip the dessert table; a friend is baking the cake.", 1, false),
    (2, None, OLIVIA, "Olivia Grant", To::Vendor(7), Some("Next season pricing"), "Could you send your updated dessert table prices for next season?", 8, true),
];

pub(super) type Ops = (
    Vec<tasks::Model>,
    Vec<messages::Model>,
    Vec<change_requests::Model>,
);

/// The id of event `event`'s element made from offering `offering`, if any.
fn element_of(elements: &[event_elements::Model], event: u32, offering: u32) -> Option<String> {
    let (event, offering) = (
        demo_id(table::EVENT, event),
        demo_id(table::OFFERING, offering),
    );
    elements
        .iter()
        .find(|e| e.event_id == event && e.offering_id.as_deref() == Some(offering.as_str()))
        .map(|e| e.id.clone())
}

pub(super) fn build(clock: Clock, elements: &[event_elements::Model]) -> Ops {
    let tasks = (1..)
        .zip(TASKS)
        .map(
            |(n, (venue, event, title, description, assignee, status, priority, due))| {
                let created = clock.at(-20 + i64::from(n), 9);
                tasks::Model {
                    id: demo_id(table::TASK, n),
                    venue_id: demo_id(table::VENUE, *venue),
                    event_id: event.map(|e| demo_id(table::EVENT, e)),
                    title: (*title).into(),
                    description: description.map(Into::into),
                    assigned_to: assignee.map(|u| demo_id(table::USER, u)),
                    status: (*status).into(),
                    priority: (*priority).into(),
                    due_at: due.map(|d| clock.at(d, 17)),
                    created_by: Some(demo_id(
                        table::USER,
                        if *venue == 1 { MAYA } else { OLIVIA },
                    )),
                    created_at: created,
                    updated_at: created,
                }
            },
        )
        .collect();
    let messages = (1..)
        .zip(MESSAGES)
        .map(
            |(n, (venue, event, sender, name, to, subject, body, days_ago, read))| {
                let (recipient_type, recipient_id) = match to {
                    To::Client(u) => ("client", demo_id(table::USER, *u)),
                    To::Venue(u) => ("venue", demo_id(table::USER, *u)),
                    To::Vendor(v) => ("vendor", demo_id(table::VENDOR, *v)),
                };
                let sent = clock.at(-days_ago, 10 + i64::from(n % 7));
                messages::Model {
                    id: demo_id(table::MESSAGE, n),
                    venue_id: demo_id(table::VENUE, *venue),
                    event_id: event.map(|e| demo_id(table::EVENT, e)),
                    sender_id: demo_id(table::USER, *sender),
                    sender_name: (*name).into(),
                    recipient_type: recipient_type.into(),
                    recipient_id,
                    subject: subject.map(Into::into),
                    body: (*body).into(),
                    created_at: sent,
                    read_at: read.then(|| sent + chrono::Duration::hours(2)),
                }
            },
        )
        .collect();
    let request =
        |n: u32, event: u32, element: Option<String>, by: u32, kind: &str, text: &str, details| {
            change_requests::Model {
                id: demo_id(table::CHANGE_REQUEST, n),
                event_id: demo_id(table::EVENT, event),
                element_id: element,
                requested_by: demo_id(table::USER, by),
                request_type: kind.into(),
                description: text.into(),
                details,
                status: "open".into(),
                resolution_note: None,
                resolved_by: None,
                created_at: clock.at(-(i64::from(n)), 14),
                resolved_at: None,
            }
        };
    let mut approved = request(
        4,
        4,
        element_of(elements, 4, 11),
        GRACE,
        "modify",
        "Make the cake chocolate with raspberry filling, nut-free.",
        json!({"flavor": "chocolate raspberry", "allergens": "nut-free"}),
    );
    approved.status = "approved".into();
    approved.resolution_note = Some("Sugar Bloom confirmed a nut-free kitchen run.".into());
    approved.resolved_by = Some(demo_id(table::USER, MAYA));
    approved.resolved_at = Some(clock.at(-3, 11));
    let change_requests = vec![
        request(
            1,
            1,
            element_of(elements, 1, 3),
            EMILY,
            "modify",
            "Increase vegetarian meals from 20 to 28 (and 92 classic dinners).",
            json!({"quantity": {"from": 20, "to": 28}}),
        ),
        request(
            2,
            7,
            None,
            DANIEL,
            "add",
            "Add a late-night taco truck for about 120 guests at 10pm.",
            json!({"category": "catering", "guests": 120, "time": "22:00"}),
        ),
        request(
            3,
            10,
            element_of(elements, 10, 21),
            CHLOE,
            "remove",
            "Remove the dessert table; a friend is baking the cake.",
            json!({}),
        ),
        approved,
    ];
    (tasks, messages, change_requests)
}
