//! Demo events with their elements, guest lists and contracts.

use entity::{contracts, event_elements, events, guests, venue_offerings};
use serde_json::json;

use super::people::{AVA, CHLOE, DANIEL, EMILY, ETHAN, GRACE, LIAM, NOAH, SOPHIA};
use super::{Clock, demo_id, table};
use crate::vocab::Rsvp;

/// Sales tax applied to contracts, in percent.
const TAX_PERCENT: i64 = 8;
/// Deposit due on signing, in percent of the total.
const DEPOSIT_PERCENT: i64 = 25;

struct EventRow {
    venue: u32,
    client: u32,
    name: &'static str,
    event_type: &'static str,
    /// Days from today.
    day: i64,
    start_hour: i64,
    hours: i64,
    guests: i32,
    budget_cents: i64,
    status: &'static str,
    notes: Option<&'static str>,
    /// (offering number, quantity, status)
    elements: &'static [(u32, i32, &'static str)],
    /// How many guests of the guest list to create.
    guest_list: usize,
}

/// Numbered from 1 in this order.
#[rustfmt::skip]
const EVENTS: &[EventRow] = &[
    EventRow { venue: 1, client: EMILY, name: "Emily & James Wedding", event_type: "wedding", day: 45, start_hour: 16, hours: 7, guests: 120, budget_cents: 3_000_000, status: "confirmed", notes: Some("Ceremony on the terrace at 4:30pm if dry; loft if raining."),
        elements: &[(1, 1, "confirmed"), (2, 100, "confirmed"), (3, 20, "confirmed"), (6, 1, "confirmed"), (7, 1, "approved"), (8, 1, "confirmed"), (9, 5, "confirmed"), (11, 1, "pending_approval"), (10, 1, "proposed")], guest_list: 12 },
    EventRow { venue: 1, client: EMILY, name: "Parker Rehearsal Dinner", event_type: "rehearsal_dinner", day: 44, start_hour: 18, hours: 3, guests: 40, budget_cents: 600_000, status: "planning", notes: None,
        elements: &[(2, 32, "approved"), (3, 8, "approved"), (6, 1, "proposed")], guest_list: 6 },
    EventRow { venue: 1, client: LIAM, name: "BrightLabs Product Launch", event_type: "corporate", day: 20, start_hour: 18, hours: 4, guests: 150, budget_cents: 2_500_000, status: "planning", notes: Some("Stage for a 20-minute keynote; branded lighting."),
        elements: &[(1, 1, "approved"), (4, 150, "approved"), (5, 150, "pending_approval"), (10, 1, "proposed"), (9, 4, "proposed"), (12, 1, "declined")], guest_list: 8 },
    EventRow { venue: 1, client: GRACE, name: "Grace's 30th Birthday", event_type: "birthday", day: 12, start_hour: 19, hours: 5, guests: 80, budget_cents: 1_800_000, status: "confirmed", notes: Some("Surprise element at 9pm: keep the cake hidden."),
        elements: &[(1, 1, "confirmed"), (4, 80, "confirmed"), (3, 80, "confirmed"), (9, 4, "confirmed"), (11, 1, "confirmed"), (10, 1, "approved")], guest_list: 8 },
    EventRow { venue: 1, client: NOAH, name: "Bennett & Co. Winter Party", event_type: "corporate", day: 75, start_hour: 18, hours: 5, guests: 100, budget_cents: 2_000_000, status: "inquiry", notes: Some("Asked about a Friday evening and a sit-down dinner."),
        elements: &[(1, 1, "proposed"), (2, 100, "proposed")], guest_list: 0 },
    EventRow { venue: 1, client: AVA, name: "Thompson Law Annual Gala", event_type: "corporate", day: -30, start_hour: 18, hours: 5, guests: 140, budget_cents: 3_500_000, status: "completed", notes: None,
        elements: &[(1, 1, "confirmed"), (2, 140, "confirmed"), (5, 140, "confirmed"), (8, 1, "confirmed"), (10, 1, "confirmed")], guest_list: 6 },
    EventRow { venue: 2, client: DANIEL, name: "Okafor–Reyes Wedding", event_type: "wedding", day: 120, start_hour: 15, hours: 8, guests: 200, budget_cents: 6_000_000, status: "planning", notes: Some("Outdoor ceremony by the lake; tent as rain plan."),
        elements: &[(13, 1, "confirmed"), (14, 170, "approved"), (15, 30, "pending_approval"), (17, 1, "approved"), (18, 1, "confirmed"), (19, 1, "proposed"), (22, 1, "pending_approval"), (23, 6, "proposed")], guest_list: 12 },
    EventRow { venue: 2, client: SOPHIA, name: "Ramirez 25th Anniversary", event_type: "anniversary", day: 60, start_hour: 17, hours: 5, guests: 90, budget_cents: 2_200_000, status: "confirmed", notes: None,
        elements: &[(13, 1, "confirmed"), (14, 90, "confirmed"), (21, 90, "confirmed"), (20, 1, "confirmed"), (19, 1, "approved")], guest_list: 8 },
    EventRow { venue: 2, client: ETHAN, name: "Rivera Family Reunion", event_type: "reunion", day: 150, start_hour: 11, hours: 6, guests: 70, budget_cents: 1_200_000, status: "inquiry", notes: Some("Kids' activities on the lawn?"),
        elements: &[(13, 1, "proposed"), (16, 70, "proposed")], guest_list: 0 },
    EventRow { venue: 2, client: CHLOE, name: "Chloe & Sam Engagement Brunch", event_type: "engagement", day: 30, start_hour: 11, hours: 4, guests: 50, budget_cents: 1_500_000, status: "planning", notes: None,
        elements: &[(13, 1, "approved"), (16, 50, "approved"), (17, 1, "pending_approval"), (21, 50, "proposed")], guest_list: 6 },
    EventRow { venue: 2, client: AVA, name: "Thompson Law Partner Retreat", event_type: "corporate", day: 90, start_hour: 9, hours: 9, guests: 60, budget_cents: 2_000_000, status: "cancelled", notes: Some("Cancelled by the client; deposit refunded."),
        elements: &[(13, 1, "cancelled"), (14, 60, "cancelled")], guest_list: 0 },
    EventRow { venue: 2, client: SOPHIA, name: "Ramirez Graduation Party", event_type: "graduation", day: -45, start_hour: 13, hours: 5, guests: 100, budget_cents: 2_000_000, status: "completed", notes: None,
        elements: &[(13, 1, "confirmed"), (14, 100, "confirmed"), (18, 1, "confirmed"), (21, 100, "confirmed")], guest_list: 6 },
    EventRow { venue: 1, client: CHLOE, name: "Martin Baby Shower", event_type: "baby_shower", day: 170, start_hour: 13, hours: 3, guests: 30, budget_cents: 500_000, status: "inquiry", notes: None,
        elements: &[(4, 30, "proposed")], guest_list: 0 },
];

#[rustfmt::skip]
const GUEST_NAMES: &[(&str, &str)] = &[
    ("Hannah", "Lee"),
    ("Marco", "Rossi"),
    ("Priya", "Shah"),
    ("Tom", "Fischer"),
    ("Aisha", "Bello"),
    ("Lucas", "Moreau"),
    ("Mei", "Tanaka"),
    ("Oscar", "Lindqvist"),
    ("Nina", "Petrova"),
    ("Sam", "Carter"),
    ("Julia", "Costa"),
    ("Ben", "Adler"),
];
#[rustfmt::skip]
const RSVP: &[Rsvp] = &[
    Rsvp::Attending,
    Rsvp::Attending,
    Rsvp::Pending,
    Rsvp::Declined,
    Rsvp::Maybe,
    Rsvp::Attending,
];
#[rustfmt::skip]
const DIETARY: &[Option<&str>] = &[
    None,
    Some("vegetarian"),
    None,
    Some("vegan"),
    Some("gluten-free"),
    None,
    Some("nut allergy"),
    None,
];

pub(super) type Events = (
    Vec<events::Model>,
    Vec<event_elements::Model>,
    Vec<guests::Model>,
    Vec<contracts::Model>,
);

pub(super) fn build(clock: Clock, offerings: &[venue_offerings::Model]) -> Events {
    let mut out: Events = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut element_no = 0;
    let mut guest_no = 0;
    for (n, row) in (1..).zip(EVENTS) {
        let event_id = demo_id(table::EVENT, n);
        let created = clock.at(row.day.min(0) - 90 + i64::from(n), 10);
        let start = clock.at(row.day, row.start_hour);
        out.0.push(events::Model {
            id: event_id.clone(),
            venue_id: demo_id(table::VENUE, row.venue),
            client_id: demo_id(table::USER, row.client),
            name: row.name.into(),
            event_type: row.event_type.into(),
            event_date: start,
            end_date: Some(start + chrono::Duration::hours(row.hours)),
            guest_count: row.guests,
            budget_cents: row.budget_cents,
            status: row.status.into(),
            notes: row.notes.map(Into::into),
            created_at: created,
            updated_at: clock.at(-2, 12).max(created),
        });
        let mut line_items = Vec::new();
        let mut subtotal = 0;
        for (offering_no, quantity, status) in row.elements {
            element_no += 1;
            let Some(offering) = usize::try_from(*offering_no - 1)
                .ok()
                .and_then(|i| offerings.get(i))
            else {
                continue;
            };
            let price = offering.price_cents * i64::from(*quantity);
            out.1.push(event_elements::Model {
                id: demo_id(table::ELEMENT, element_no),
                event_id: event_id.clone(),
                offering_id: Some(offering.id.clone()),
                vendor_id: offering.vendor_id.clone(),
                category: offering.category.clone(),
                name: offering.name.clone(),
                description: offering.description.clone(),
                quantity: *quantity,
                price_cents: price,
                status: (*status).into(),
                notes: (*status == "pending_approval")
                    .then(|| "Waiting for the client's approval.".to_owned()),
                created_at: created,
                updated_at: created,
            });
            let billed = match *status {
                "declined" => false,
                "cancelled" => row.status == "cancelled",
                _ => true,
            };
            if billed {
                subtotal += price;
                line_items.push(json!({
                    "description": offering.name,
                    "quantity": quantity,
                    "unit_price_cents": offering.price_cents,
                    "total_cents": price,
                }));
            }
        }
        for i in 0..row.guest_list {
            guest_no += 1;
            let (first, last) = GUEST_NAMES[(i + n as usize) % GUEST_NAMES.len()];
            out.2.push(guests::Model {
                id: demo_id(table::GUEST, guest_no),
                event_id: event_id.clone(),
                name: format!("{first} {last}"),
                email: (i % 4 != 3).then(|| {
                    format!(
                        "{}@{}mail.example",
                        first.to_lowercase(),
                        last.to_lowercase()
                    )
                }),
                phone: (i % 3 == 0).then(|| format!("+1 206 555 {:04}", 3000 + guest_no)),
                rsvp_status: RSVP[i % RSVP.len()].as_str().to_owned(),
                dietary_needs: DIETARY[i % DIETARY.len()].map(Into::into),
                plus_one: i % 3 == 1,
                table_number: (row.status != "planning").then(|| (i / 4 + 1) as i32),
                created_at: created,
            });
        }
        if row.status != "inquiry" {
            out.3.push(contract(clock, n, row, line_items, subtotal));
        }
    }
    out
}

fn contract(
    clock: Clock,
    n: u32,
    row: &EventRow,
    line_items: Vec<serde_json::Value>,
    subtotal: i64,
) -> contracts::Model {
    let tax = (subtotal * TAX_PERCENT + 50) / 100;
    let total = subtotal + tax;
    let (status, signed) = match row.status {
        "confirmed" | "completed" => ("signed", true),
        "cancelled" => ("cancelled", true),
        _ if n % 2 == 1 => ("sent", false),
        _ => ("draft", false),
    };
    let created = clock.at(row.day.min(0) - 60, 11);
    contracts::Model {
        id: demo_id(table::CONTRACT, n),
        event_id: demo_id(table::EVENT, n),
        status: status.into(),
        line_items: serde_json::Value::Array(line_items),
        subtotal_cents: subtotal,
        tax_cents: tax,
        total_cents: total,
        deposit_cents: (total * DEPOSIT_PERCENT + 50) / 100,
        deposit_paid: signed,
        signed_at: signed.then(|| clock.at(row.day.min(0) - 55, 15)),
        created_at: created,
        updated_at: clock.at(row.day.min(0) - 55, 15),
    }
}
