//! Demo venues, vendors, users, venue–vendor approvals and venue offerings.

use entity::{users, vendors, venue_offerings, venue_vendors, venues};
use serde_json::json;

use super::{Clock, demo_id, table};

// User numbers (`demo_id(table::USER, n)`), used by the other seed files.
pub(super) const ADMIN: u32 = 1;
pub(super) const MAYA: u32 = 2;
pub(super) const JORDAN: u32 = 3;
pub(super) const OLIVIA: u32 = 4;
pub(super) const SAMUEL: u32 = 5;
pub(super) const EMILY: u32 = 6;
pub(super) const DANIEL: u32 = 7;
pub(super) const SOPHIA: u32 = 8;
pub(super) const LIAM: u32 = 9;
pub(super) const GRACE: u32 = 10;
pub(super) const NOAH: u32 = 11;
pub(super) const AVA: u32 = 12;
pub(super) const ETHAN: u32 = 13;
pub(super) const CHLOE: u32 = 14;
pub(super) const ROSA: u32 = 15;

/// (number, email, name, user_type, venue, vendor, phone)
type UserRow = (
    u32,
    &'static str,
    &'static str,
    &'static str,
    Option<u32>,
    Option<u32>,
    Option<&'static str>,
);

#[rustfmt::skip]
const USERS: &[UserRow] = &[
    (ADMIN, "admin@eventchat.example", "Avery Quinn", "admin", None, None, None),
    (MAYA, "maya@harborview.example", "Maya Chen", "venue", Some(1), None, Some("+1 206 555 0110")),
    (JORDAN, "jordan@harborview.example", "Jordan Ellis", "venue", Some(1), None, Some("+1 206 555 0111")),
    (OLIVIA, "olivia@willowcreek.example", "Olivia Grant", "venue", Some(2), None, Some("+1 707 555 0120")),
    (SAMUEL, "samuel@willowcreek.example", "Samuel Ortiz", "venue", Some(2), None, Some("+1 707 555 0121")),
    (EMILY, "emily@parkerhome.example", "Emily Parker", "client", None, None, Some("+1 206 555 0142")),
    (DANIEL, "daniel@okafor.example", "Daniel Okafor", "client", None, None, Some("+1 415 555 0187")),
    (SOPHIA, "sophia@ramirezfamily.example", "Sophia Ramirez", "client", None, None, None),
    (LIAM, "liam@brightlabs.example", "Liam Novak", "client", None, None, Some("+1 206 555 0199")),
    (GRACE, "grace@kimstudio.example", "Grace Kim", "client", None, None, None),
    (NOAH, "noah@bennettco.example", "Noah Bennett", "client", None, None, Some("+1 425 555 0163")),
    (AVA, "ava@thompsonlaw.example", "Ava Thompson", "client", None, None, None),
    (ETHAN, "ethan@riverafamily.example", "Ethan Rivera", "client", None, None, None),
    (CHLOE, "chloe@martinhome.example", "Chloe Martin", "client", None, None, Some("+1 707 555 0175")),
    (ROSA, "rosa@bloomandvine.example", "Rosa Delgado", "vendor", None, Some(2), Some("+1 206 555 0230")),
    (16, "marcus@lensandlight.example", "Marcus Webb", "vendor", None, Some(3), None),
];

/// (name, category, email, phone, description)
#[rustfmt::skip]
const VENDORS: &[(&str, &str, &str, &str, &str)] = &[
    ("Golden Fork Catering", "catering", "bookings@goldenfork.example", "+1 206 555 0201", "Seasonal plated dinners, buffets and canapés; vegetarian, vegan and gluten-free menus."),
    ("Bloom & Vine Florals", "florist", "studio@bloomandvine.example", "+1 206 555 0202", "Garden-style centerpieces, bouquets and ceremony arches."),
    ("Lens & Light Photography", "photography", "hello@lensandlight.example", "+1 206 555 0203", "Documentary wedding and event photography, photo + video packages."),
    ("Groove Theory DJs", "music", "gigs@groovetheory.example", "+1 206 555 0204", "DJs with sound system, dance lighting and MC service."),
    ("Velvet Strings Quartet", "music", "play@velvetstrings.example", "+1 707 555 0205", "Classical and pop string quartet for ceremonies and cocktail hours."),
    ("Lumen Event Lighting", "lighting", "design@lumenlighting.example", "+1 206 555 0206", "Uplighting, string lights, gobos and stage lighting."),
    ("Sugar Bloom Bakery", "bakery", "orders@sugarbloom.example", "+1 707 555 0207", "Tiered cakes, dessert tables; nut-free and gluten-free options."),
    ("Elegant Rentals Co.", "rentals", "rent@elegantrentals.example", "+1 707 555 0208", "Tents, heaters, lounge furniture, linens and tableware."),
    ("Coastline Coaches", "transport", "dispatch@coastlinecoaches.example", "+1 707 555 0209", "Guest shuttles and vintage cars."),
    ("Rustic Charm Decor", "decor", "hi@rusticcharm.example", "+1 707 555 0210", "Barn and garden decor: lanterns, signage, table styling."),
];

/// (venue, vendor, status, notes)
#[rustfmt::skip]
const VENUE_VENDORS: &[(u32, u32, &str, Option<&str>)] = &[
    (1, 1, "approved", Some("House caterer; 10% venue discount.")),
    (1, 2, "approved", None),
    (1, 3, "approved", None),
    (1, 4, "approved", Some("Knows the loft's sound limits (95 dB after 10pm).")),
    (1, 6, "approved", None),
    (1, 7, "approved", None),
    (1, 8, "approved", None),
    (1, 9, "pending", Some("Insurance certificate requested.")),
    (2, 1, "approved", None),
    (2, 2, "approved", None),
    (2, 3, "approved", None),
    (2, 5, "approved", Some("Preferred for garden ceremonies.")),
    (2, 7, "approved", None),
    (2, 8, "approved", Some("Delivers tents the day before.")),
    (2, 9, "approved", None),
    (2, 10, "approved", None),
    (2, 4, "pending", Some("Trial event scheduled next month.")),
];

/// (venue, category, name, description, price_cents, unit, vendor)
type OfferingRow = (
    u32,
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static str,
    Option<u32>,
);

/// Numbered from 1 in this order.
#[rustfmt::skip]
const OFFERINGS: &[OfferingRow] = &[
    (1, "venue", "Loft Rental (evening)", "Exclusive use of the loft and harbor terrace, 5pm to midnight.", 600_000, "per_event", None),
    (1, "catering", "Classic Plated Dinner", "Three courses: salmon or short rib, seasonal sides, dessert.", 8_500, "per_guest", Some(1)),
    (1, "catering", "Vegetarian Seasonal Menu", "Three vegetarian courses; vegan and gluten-free on request.", 7_200, "per_guest", Some(1)),
    (1, "catering", "Cocktail Hour Canapés", "Six passed canapés per guest.", 2_400, "per_guest", Some(1)),
    (1, "bar", "Open Bar Package", "Beer, wine, two signature cocktails for four hours.", 4_500, "per_guest", None),
    (1, "florist", "Centerpiece Package", "Garden-style centerpieces for up to 20 tables.", 180_000, "per_event", Some(2)),
    (1, "florist", "Bridal Bouquet", "Hand-tied bouquet with matching boutonnieres.", 32_000, "per_event", Some(2)),
    (1, "photography", "Full-Day Photography", "Eight hours, two photographers, online gallery.", 350_000, "per_event", Some(3)),
    (1, "music", "DJ & Sound System", "DJ, sound system, wireless mics and MC.", 25_000, "per_hour", Some(4)),
    (1, "lighting", "Ambient Uplighting", "Twenty wireless uplights in your colors.", 90_000, "per_event", Some(6)),
    (1, "bakery", "Tiered Celebration Cake", "Three-tier cake for up to 150 guests.", 65_000, "per_event", Some(7)),
    (1, "rentals", "Lounge Furniture Set", "Sofas, armchairs and coffee tables for two lounges.", 120_000, "per_event", Some(8)),
    (2, "venue", "Estate Rental (full day)", "Gardens, barn and terrace, 10am to 11pm.", 950_000, "per_event", None),
    (2, "catering", "Farm-to-Table Dinner", "Family-style dinner from local farms.", 9_500, "per_guest", Some(1)),
    (2, "catering", "Vegan Harvest Menu", "Fully plant-based three-course dinner.", 8_000, "per_guest", Some(1)),
    (2, "catering", "Brunch Buffet", "Pastries, frittatas, fruit, coffee bar.", 4_800, "per_guest", Some(1)),
    (2, "florist", "Garden Arch & Aisle Florals", "Ceremony arch and aisle arrangements.", 240_000, "per_event", Some(2)),
    (2, "photography", "Photo + Video Package", "Ten hours photo, highlight film.", 520_000, "per_event", Some(3)),
    (2, "music", "String Quartet Ceremony", "Ceremony and one hour of cocktail music.", 180_000, "per_event", Some(5)),
    (2, "decor", "Rustic Barn Decor", "Lanterns, signage, table runners and candles.", 150_000, "per_event", Some(10)),
    (2, "bakery", "Dessert Table", "Mini desserts, including nut-free and gluten-free.", 1_200, "per_guest", Some(7)),
    (2, "rentals", "Tent & Heaters", "Clear-top tent for 250 with patio heaters.", 280_000, "per_event", Some(8)),
    (2, "transport", "Guest Shuttle", "Two 30-seat shuttles between hotels and the estate.", 18_000, "per_hour", Some(9)),
];

pub(super) type People = (
    Vec<venues::Model>,
    Vec<vendors::Model>,
    Vec<users::Model>,
    Vec<venue_vendors::Model>,
    Vec<venue_offerings::Model>,
);

pub(super) fn build(clock: Clock) -> People {
    let created = clock.at(-180, 9);
    let venues = vec![
        venues::Model {
            id: demo_id(table::VENUE, 1),
            name: "Harborview Loft".into(),
            address: "1200 Wharf Street".into(),
            city: "Seattle".into(),
            capacity: 180,
            description: "Industrial-chic loft on the waterfront with a harbor terrace.".into(),
            contact_email: "events@harborview.example".into(),
            created_at: created,
        },
        venues::Model {
            id: demo_id(table::VENUE, 2),
            name: "Willow Creek Estate".into(),
            address: "48 Willow Creek Road".into(),
            city: "Napa".into(),
            capacity: 250,
            description: "Vineyard estate with gardens, a restored barn and a lakeside lawn."
                .into(),
            contact_email: "hello@willowcreek.example".into(),
            created_at: created,
        },
    ];
    let vendors = (1..)
        .zip(VENDORS)
        .map(
            |(n, (name, category, email, phone, description))| vendors::Model {
                id: demo_id(table::VENDOR, n),
                name: (*name).into(),
                category: (*category).into(),
                email: (*email).into(),
                phone: (*phone).into(),
                description: (*description).into(),
                created_at: created,
            },
        )
        .collect();
    let users = USERS
        .iter()
        .map(
            |(n, email, name, user_type, venue, vendor, phone)| users::Model {
                id: demo_id(table::USER, *n),
                email: (*email).into(),
                name: (*name).into(),
                user_type: (*user_type).into(),
                venue_id: venue.map(|v| demo_id(table::VENUE, v)),
                vendor_id: vendor.map(|v| demo_id(table::VENDOR, v)),
                phone: phone.map(Into::into),
                preferences: preferences(*n),
                created_at: clock.at(-150 + i64::from(*n), 10),
            },
        )
        .collect();
    let venue_vendors = (1..)
        .zip(VENUE_VENDORS)
        .map(|(n, (venue, vendor, status, notes))| venue_vendors::Model {
            id: demo_id(table::VENUE_VENDOR, n),
            venue_id: demo_id(table::VENUE, *venue),
            vendor_id: demo_id(table::VENDOR, *vendor),
            status: (*status).into(),
            notes: notes.map(Into::into),
            created_at: created,
        })
        .collect();
    let offerings = (1..)
        .zip(OFFERINGS)
        .map(
            |(n, (venue, category, name, description, price, unit, vendor))| {
                venue_offerings::Model {
                    id: demo_id(table::OFFERING, n),
                    venue_id: demo_id(table::VENUE, *venue),
                    category: (*category).into(),
                    name: (*name).into(),
                    description: (*description).into(),
                    price_cents: *price,
                    unit: (*unit).into(),
                    vendor_id: vendor.map(|v| demo_id(table::VENDOR, v)),
                    active: true,
                    created_at: created,
                }
            },
        )
        .collect();
    (venues, vendors, users, venue_vendors, offerings)
}

/// Per-user preferences (what the assistants read as "client preferences").
fn preferences(user: u32) -> serde_json::Value {
    match user {
        EMILY => {
            json!({"style": "romantic, candlelit", "colors": ["sage", "ivory"], "contact": "email", "dietary": ["vegetarian"]})
        }
        DANIEL => {
            json!({"style": "garden party", "contact": "phone", "notes": "Several vegan guests."})
        }
        LIAM => {
            json!({"style": "modern, branded", "contact": "email", "invoicing": "company PO required"})
        }
        GRACE => json!({"style": "colorful, playful", "contact": "text"}),
        CHLOE => json!({"style": "rustic", "contact": "email", "dietary": ["gluten-free"]}),
        _ => json!({}),
    }
}
