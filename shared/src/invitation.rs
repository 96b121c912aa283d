//! The invitation email of a room's day, in German or English, as HTML with a
//! plain-text alternative.

use crate::zone::Zone;
use chrono::{Datelike, NaiveDate};

use crate::mail::Email;
use crate::room::{Invitee, Locale, Room};

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// The texts of one invitation in the invitee's language.
struct Wording {
    subject: String,
    greeting: String,
    intro: &'static str,
    /// Label and value of each appointment fact: date, start time, practice.
    facts: Vec<(&'static str, String)>,
    link_intro: &'static str,
    button: &'static str,
    link_fallback: &'static str,
    help_title: &'static str,
    help: [&'static str; 3],
    privacy: &'static str,
    /// Introduces the link to the privacy page.
    privacy_link_intro: &'static str,
    closing: &'static str,
    signature: String,
}

const GERMAN_WEEKDAYS: [&str; 7] = [
    "Montag",
    "Dienstag",
    "Mittwoch",
    "Donnerstag",
    "Freitag",
    "Samstag",
    "Sonntag",
];

const GERMAN_MONTHS: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];

/// Formats a date as "Montag, 14. Dezember 2026", with "Jänner" for January
/// in rooms in Europe/Vienna because Austrian German uses that name. chrono
/// names weekdays and months only in English unless its `unstable-locales`
/// feature is enabled.
fn german_long_date(date: NaiveDate, time_zone: Zone) -> String {
    let weekday = GERMAN_WEEKDAYS[date.weekday().num_days_from_monday() as usize];
    let month = match (date.month(), time_zone) {
        (1, Zone::VIENNA) => "Jänner",
        _ => GERMAN_MONTHS[date.month0() as usize],
    };
    format!("{weekday}, {}. {month} {}", date.day(), date.year())
}

/// Areas of the tz database whose zone names end in a place, as in
/// America/New_York.
const PLACE_AREAS: [&str; 9] = [
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
];

/// Names the time zone of the invitation's time line: the country's time for
/// Europe/Berlin, Europe/Vienna and Europe/Zurich, the local time of the
/// place a zone is named after otherwise ("Ortszeit New York"), and the
/// IANA name for zones without a place, such as UTC. Europe/Busingen (a
/// German town) and Europe/Vaduz (Liechtenstein) run on Swiss time but lie
/// outside Switzerland, so they get their place's name.
fn time_zone_label(time_zone: Zone, locale: Locale) -> String {
    let readable = match time_zone {
        Zone::BERLIN => Some(("deutsche Zeit", "German time")),
        Zone::VIENNA => Some(("österreichische Zeit", "Austrian time")),
        Zone::ZURICH => Some(("Schweizer Zeit", "Swiss time")),
        _ => None,
    };
    let name = time_zone.name();
    let place = name
        .split_once('/')
        .filter(|(area, _)| PLACE_AREAS.contains(area))
        .and_then(|(_, rest)| rest.rsplit('/').next())
        .map(|place| place.replace('_', " "));
    match (readable, place, locale) {
        (Some((german, _)), _, Locale::De) => german.to_owned(),
        (Some((_, english)), _, Locale::En) => english.to_owned(),
        (None, Some(place), Locale::De) => format!("Ortszeit {place}"),
        (None, Some(place), Locale::En) => format!("{place} time"),
        (None, None, Locale::De) => format!("Zeitzone {name}"),
        (None, None, Locale::En) => format!("time zone {name}"),
    }
}

/// Checks whether the invitee's last email named another day or time, in
/// which case this one announces the change.
fn was_changed(room: &Room, invitee: &Invitee) -> bool {
    invitee
        .last_sent
        .as_ref()
        .is_some_and(|sent| !sent.appointment.names_same_moments(&room.appointment()))
}

fn german_wording(room: &Room, invitee: &Invitee, practice: Option<&str>) -> Wording {
    let short_date = room.date.format("%d.%m.%Y").to_string();
    let subject_time = room
        .start_time
        // The date is an apposition to "heute", closed by a comma before the
        // time.
        .map(|time| format!(", um {} Uhr", time.format("%H:%M")))
        .unwrap_or_default();

    let mut facts = vec![("Datum", german_long_date(room.date, room.time_zone))];
    if let Some(time) = room.start_time {
        facts.push((
            "Uhrzeit",
            format!(
                "{} Uhr ({})",
                time.format("%H:%M"),
                time_zone_label(room.time_zone, Locale::De)
            ),
        ));
    }
    if let Some(name) = practice {
        facts.push(("Praxis", name.to_owned()));
    }

    Wording {
        subject: if was_changed(room, invitee) {
            format!("Geänderter Videotermin: heute, {short_date}{subject_time}")
        } else {
            format!("Ihr Videotermin heute, {short_date}{subject_time}")
        },
        greeting: format!("Guten Tag {},", invitee.name),
        intro: if was_changed(room, invitee) {
            "Ihr Videotermin wurde geändert und findet heute statt. Es gelten diese Angaben:"
        } else {
            "heute findet Ihr Videotermin statt:"
        },
        facts,
        link_intro: "Über diesen Link nehmen Sie teil:",
        button: "Zur Videosprechstunde",
        link_fallback: "Falls die Schaltfläche nicht funktioniert, kopieren Sie diese Adresse in die Adressleiste Ihres Browsers:",
        help_title: "So gelingt die Teilnahme:",
        help: [
            "Öffnen Sie den Link auf Ihrem Computer, Smartphone oder Tablet in einer aktuellen Version von Chrome, Firefox, Safari oder Edge. Sie müssen nichts installieren.",
            "Erlauben Sie den Zugriff auf Kamera und Mikrofon, wenn Ihr Browser danach fragt.",
            "Der Link gilt nur heute, am Tag Ihres Termins.",
        ],
        privacy: "Das Gespräch wird nicht aufgezeichnet. Bild, Ton und Chat werden zwischen den Geräten der Teilnehmenden Ende-zu-Ende-verschlüsselt übertragen und nirgends gespeichert.",
        privacy_link_intro: "Welche Daten der Videodienst speichert und wie lange, lesen Sie in den Datenschutzhinweisen:",
        // Swiss German writes "ss" for "ß".
        closing: if room.time_zone == Zone::ZURICH {
            "Mit freundlichen Grüssen"
        } else {
            "Mit freundlichen Grüßen"
        },
        signature: practice.unwrap_or("Ihr Praxisteam").to_owned(),
    }
}

fn english_wording(room: &Room, invitee: &Invitee, practice: Option<&str>) -> Wording {
    let subject_date = room.date.format("%-d %B %Y").to_string();
    let subject_time = room
        .start_time
        .map(|time| format!(" at {}", time.format("%H:%M")))
        .unwrap_or_default();

    let mut facts = vec![("Date", room.date.format("%A, %-d %B %Y").to_string())];
    if let Some(time) = room.start_time {
        facts.push((
            "Time",
            format!(
                "{} ({})",
                time.format("%H:%M"),
                time_zone_label(room.time_zone, Locale::En)
            ),
        ));
    }
    if let Some(name) = practice {
        facts.push(("Practice", name.to_owned()));
    }

    Wording {
        subject: if was_changed(room, invitee) {
            format!("Changed video appointment: today, {subject_date}{subject_time}")
        } else {
            format!("Your video appointment today, {subject_date}{subject_time}")
        },
        greeting: format!("Dear {},", invitee.name),
        intro: if was_changed(room, invitee) {
            "Your video appointment has changed and is today. These details apply:"
        } else {
            "Your video appointment is today:"
        },
        facts,
        link_intro: "Join with this link:",
        button: "Join the video consultation",
        link_fallback: "If the button does not work, copy this address into your browser's address bar:",
        help_title: "How to join:",
        help: [
            "Open the link on your computer, smartphone or tablet in a current version of Chrome, Firefox, Safari or Edge. You do not need to install anything.",
            "Allow access to your camera and microphone when your browser asks.",
            "The link works only today, the day of your appointment.",
        ],
        privacy: "The call is not recorded. Video, sound and chat are end-to-end encrypted between the participants' devices and stored nowhere.",
        privacy_link_intro: "What the video service stores, and for how long, is set out in the privacy notice:",
        closing: "Kind regards",
        signature: practice.unwrap_or("Your practice team").to_owned(),
    }
}

fn render_text(words: &Wording, join_url: &str, privacy_url: &str) -> String {
    let mut text = format!("{}\n\n{}\n\n", words.greeting, words.intro);
    for (label, value) in &words.facts {
        text.push_str(&format!("{label}: {value}\n"));
    }
    text.push_str(&format!(
        "\n{}\n{join_url}\n\n{}\n",
        words.link_intro, words.help_title
    ));
    for line in words.help {
        text.push_str(&format!("- {line}\n"));
    }
    text.push_str(&format!(
        "\n{}\n\n{}\n{privacy_url}\n\n{}\n{}\n",
        words.privacy, words.privacy_link_intro, words.closing, words.signature
    ));
    text
}

/// Renders the HTML body with one block element a line, so that the checked-in
/// previews give readable diffs.
fn render_html(words: &Wording, lang: &str, join_url: &str, privacy_url: &str) -> String {
    let link = escape_html(join_url);
    let privacy_link = escape_html(privacy_url);
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head><meta charset=\"utf-8\"><title>{}</title></head>\n\
         <body style=\"font-family:sans-serif;line-height:1.5;color:#1f2933;max-width:36em\">\n\
         <p>{}</p>\n<p>{}</p>\n<p>",
        escape_html(&words.subject),
        escape_html(&words.greeting),
        escape_html(words.intro),
    );
    for (index, (label, value)) in words.facts.iter().enumerate() {
        if index > 0 {
            html.push_str("<br>");
        }
        html.push_str(&format!(
            "{}: <strong>{}</strong>",
            escape_html(label),
            escape_html(value)
        ));
    }
    html.push_str(&format!(
        "</p>\n<p><a href=\"{link}\" style=\"display:inline-block;padding:0.7em 1.2em;background:#1d5c8f;color:#ffffff;text-decoration:none;border-radius:6px\">{}</a></p>\n\
         <p style=\"font-size:0.9em\">{}<br><span style=\"word-break:break-all\">{link}</span></p>\n\
         <p><strong>{}</strong></p>\n<ul>\n",
        escape_html(words.button),
        escape_html(words.link_fallback),
        escape_html(words.help_title),
    ));
    for line in words.help {
        html.push_str(&format!("<li>{}</li>\n", escape_html(line)));
    }
    html.push_str(&format!(
        "</ul>\n<p>{}</p>\n\
         <p style=\"font-size:0.9em\">{}<br><a href=\"{privacy_link}\">{privacy_link}</a></p>\n\
         <p>{}<br>{}</p>\n</body>\n</html>\n",
        escape_html(words.privacy),
        escape_html(words.privacy_link_intro),
        escape_html(words.closing),
        escape_html(&words.signature)
    ));
    html
}

/// Renders the invitation for one invitee of a room on the room's day.
/// `public_url` is the base of the link to the privacy page, which the
/// email names in the invitee's language.
pub fn render(
    room: &Room,
    invitee: &Invitee,
    join_url: &str,
    public_url: &str,
    practice: Option<&str>,
) -> Email {
    let (words, lang) = match invitee.locale {
        Locale::De => (german_wording(room, invitee, practice), "de"),
        Locale::En => (english_wording(room, invitee, practice), "en"),
    };
    let privacy_url = crate::privacy::page_url(public_url, invitee.locale);
    Email {
        to: invitee.email.clone(),
        text: render_text(&words, join_url, &privacy_url),
        html: render_html(&words, lang, join_url, &privacy_url),
        subject: words.subject,
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::store::contract::sample_room;

    /// Join token of the previews: shaped like a real one (room id, dot,
    /// 43-character tag) but signed by no key.
    const PREVIEW_TOKEN: &str =
        "3f2a9c4e1b7d48a6905c2e8f7a1d3b6c.EXAMPLE-ONLY-not-a-valid-tag-00000000000000";

    /// An invitee copied from the store's sample room, so that new `Invitee`
    /// fields need no change here.
    fn invitee(locale: Locale, name: &str) -> Invitee {
        let mut invitee = sample_room("dr-a", "2026-12-13").invitees.remove(0);
        invitee.name = name.to_owned();
        invitee.email = "anna@example.org".to_owned();
        invitee.locale = locale;
        invitee
    }

    /// Builds the room of the checked-in previews from the store's sample room
    /// and sets every field that the invitation shows. A new `Room` field
    /// needs a change here only if the invitation starts showing it.
    fn preview_room() -> Room {
        let mut room = sample_room("dr-weber", "2026-12-14");
        room.start_time = chrono::NaiveTime::from_hms_opt(9, 30, 0);
        room.time_zone = Zone::BERLIN;
        room
    }

    fn preview_dir() -> PathBuf {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let repository = crate_dir
            .parent()
            .expect("CARGO_MANIFEST_DIR has a parent folder");
        repository.join("docs/invitation-preview")
    }

    #[test]
    fn changed_appointment_is_announced() {
        let mut room = sample_room("dr-a", "2026-12-13");
        room.start_time = chrono::NaiveTime::from_hms_opt(9, 30, 0);
        let mut german = invitee(Locale::De, "Anna");
        let first = render(
            &room,
            &german,
            "https://v.example/join#t",
            "https://v.example",
            None,
        );
        assert!(first.text.contains("heute findet Ihr Videotermin statt:"));
        assert_eq!(
            first.subject,
            "Ihr Videotermin heute, 13.12.2026, um 09:30 Uhr"
        );

        let mut told = room.appointment();
        german.last_sent = Some(crate::room::SentEmail {
            appointment: told,
            at: room.created_at,
            message_id: "m-1".to_owned(),
        });
        let resent = render(
            &room,
            &german,
            "https://v.example/join#t",
            "https://v.example",
            None,
        );
        assert!(
            !resent.text.contains("geändert"),
            "a plain resend is no change"
        );
        assert_eq!(resent.subject, first.subject);

        told.start_time = chrono::NaiveTime::from_hms_opt(8, 0, 0);
        german.last_sent.as_mut().unwrap().appointment = told;
        let changed = render(
            &room,
            &german,
            "https://v.example/join#t",
            "https://v.example",
            None,
        );
        assert!(
            changed.text.contains("Ihr Videotermin wurde geändert"),
            "{}",
            changed.text
        );
        assert_eq!(
            changed.subject,
            "Geänderter Videotermin: heute, 13.12.2026, um 09:30 Uhr"
        );
        let mut english = german.clone();
        english.locale = Locale::En;
        let changed = render(
            &room,
            &english,
            "https://v.example/join#t",
            "https://v.example",
            None,
        );
        assert!(changed.text.contains("has changed"), "{}", changed.text);
        assert!(
            changed
                .subject
                .starts_with("Changed video appointment: today, "),
            "{}",
            changed.subject
        );
    }

    #[test]
    fn zurich_invitation_writes_ss() {
        let mut room = sample_room("dr-a", "2026-12-13");
        room.time_zone = Zone::ZURICH;
        let email = render(
            &room,
            &invitee(Locale::De, "Anna"),
            "https://v.example/join#t",
            "https://v.example",
            None,
        );
        assert!(
            email.text.contains("Mit freundlichen Grüssen"),
            "{}",
            email.text
        );
        assert!(!email.text.contains('ß'), "{}", email.text);
    }

    #[test]
    fn german_invitation_has_date_time_and_link() {
        let mut room = sample_room("dr-a", "2026-12-13");
        room.start_time = chrono::NaiveTime::from_hms_opt(9, 30, 0);
        let email = render(
            &room,
            &invitee(Locale::De, "Anna"),
            "https://v.example/join#t",
            "https://v.example",
            Some("Praxis Weber"),
        );
        assert_eq!(
            email.subject,
            "Ihr Videotermin heute, 13.12.2026, um 09:30 Uhr"
        );
        assert!(email.text.contains("https://v.example/join#t"));
        assert!(email.text.contains("Datum: Sonntag, 13. Dezember 2026\n"));
        assert!(email.text.contains("Uhrzeit: 09:30 Uhr (deutsche Zeit)\n"));
        assert!(email.text.contains("Praxis: Praxis Weber\n"));
        assert!(
            email
                .text
                .ends_with("Mit freundlichen Grüßen\nPraxis Weber\n")
        );
        assert!(email.html.contains("href=\"https://v.example/join#t\""));
        assert!(email.html.contains("lang=\"de\""));
    }

    #[test]
    fn german_invitation_has_help() {
        let room = sample_room("dr-a", "2026-12-13");
        let email = render(
            &room,
            &invitee(Locale::De, "Anna"),
            "https://v.example/join#t",
            "https://v.example",
            None,
        );
        for body in [&email.text, &email.html] {
            assert!(body.contains("Chrome, Firefox, Safari oder Edge"));
            assert!(body.contains("Kamera und Mikrofon"));
            assert!(body.contains("Der Link gilt nur heute"));
        }
        assert!(
            email
                .text
                .ends_with("Mit freundlichen Grüßen\nIhr Praxisteam\n"),
            "without a practice name, the practice team signs"
        );
    }

    #[test]
    fn english_invitation_for_english_locale() {
        let room = sample_room("dr-a", "2026-12-13");
        let email = render(
            &room,
            &invitee(Locale::En, "Anna"),
            "https://v.example/join#t",
            "https://v.example",
            None,
        );
        assert_eq!(
            email.subject,
            "Your video appointment today, 13 December 2026"
        );
        assert!(email.text.contains("Date: Sunday, 13 December 2026\n"));
        assert!(!email.text.contains("Time:"), "no start time, no time line");
        assert!(!email.text.contains("Practice:"), "no practice, no line");
        assert!(email.text.ends_with("Kind regards\nYour practice team\n"));
        assert!(email.html.contains("lang=\"en\""));
    }

    #[test]
    fn english_invitation_has_time_and_help() {
        let mut room = sample_room("dr-a", "2026-12-13");
        room.start_time = chrono::NaiveTime::from_hms_opt(16, 5, 0);
        room.time_zone = Zone::VIENNA;
        let email = render(
            &room,
            &invitee(Locale::En, "Anna"),
            "https://v.example/join#t",
            "https://v.example",
            Some("Dr. Anna Weber"),
        );
        assert_eq!(
            email.subject,
            "Your video appointment today, 13 December 2026 at 16:05"
        );
        assert!(email.text.contains("Time: 16:05 (Austrian time)\n"));
        assert!(email.text.contains("Practice: Dr. Anna Weber\n"));
        for body in [&email.text, &email.html] {
            assert!(body.contains("Chrome, Firefox, Safari or Edge"));
            assert!(body.contains("camera and microphone"));
            assert!(body.contains("The link works only today"));
        }
    }

    #[test]
    fn time_zone_label_per_zone_and_locale() {
        let cases = [
            (Zone::BERLIN, Locale::De, "deutsche Zeit"),
            (Zone::BERLIN, Locale::En, "German time"),
            (Zone::VIENNA, Locale::De, "österreichische Zeit"),
            (Zone::VIENNA, Locale::En, "Austrian time"),
            (Zone::ZURICH, Locale::De, "Schweizer Zeit"),
            (Zone::ZURICH, Locale::En, "Swiss time"),
            (
                Zone::parse("America/New_York").unwrap(),
                Locale::De,
                "Ortszeit New York",
            ),
            (
                Zone::parse("America/New_York").unwrap(),
                Locale::En,
                "New York time",
            ),
            (
                Zone::parse("America/Argentina/Buenos_Aires").unwrap(),
                Locale::De,
                "Ortszeit Buenos Aires",
            ),
            (
                Zone::parse("Europe/Busingen").unwrap(),
                Locale::De,
                "Ortszeit Busingen",
            ),
            (
                Zone::parse("Europe/Vaduz").unwrap(),
                Locale::En,
                "Vaduz time",
            ),
            (Zone::parse("UTC").unwrap(), Locale::De, "Zeitzone UTC"),
            (
                Zone::parse("Etc/GMT+5").unwrap(),
                Locale::En,
                "time zone Etc/GMT+5",
            ),
        ];
        for (time_zone, locale, expected) in cases {
            assert_eq!(
                time_zone_label(time_zone, locale),
                expected,
                "label of {} for {locale:?}",
                time_zone.name()
            );
        }
    }

    #[test]
    fn german_long_date_january_per_zone() {
        let january = NaiveDate::from_ymd_opt(2027, 1, 11).expect("valid date");
        let december = NaiveDate::from_ymd_opt(2026, 12, 14).expect("valid date");
        assert_eq!(
            german_long_date(january, Zone::VIENNA),
            "Montag, 11. Jänner 2027"
        );
        assert_eq!(
            german_long_date(january, Zone::BERLIN),
            "Montag, 11. Januar 2027"
        );
        assert_eq!(
            german_long_date(january, Zone::ZURICH),
            "Montag, 11. Januar 2027"
        );
        assert_eq!(
            german_long_date(december, Zone::VIENNA),
            "Montag, 14. Dezember 2026"
        );
    }

    #[test]
    fn vienna_invitation_in_january() {
        let mut room = sample_room("dr-a", "2027-01-11");
        room.start_time = chrono::NaiveTime::from_hms_opt(9, 30, 0);
        room.time_zone = Zone::VIENNA;

        let german = render(
            &room,
            &invitee(Locale::De, "Anna"),
            "https://v.example/join#t",
            "https://v.example",
            None,
        );
        assert_eq!(
            german.subject,
            "Ihr Videotermin heute, 11.01.2027, um 09:30 Uhr"
        );
        assert!(german.text.contains("Datum: Montag, 11. Jänner 2027\n"));
        assert!(
            german
                .text
                .contains("Uhrzeit: 09:30 Uhr (österreichische Zeit)\n")
        );
        assert!(
            german
                .html
                .contains("<strong>Montag, 11. Jänner 2027</strong>")
        );

        let english = render(
            &room,
            &invitee(Locale::En, "Anna"),
            "https://v.example/join#t",
            "https://v.example",
            None,
        );
        assert!(english.text.contains("Date: Monday, 11 January 2027\n"));
        assert!(english.text.contains("Time: 09:30 (Austrian time)\n"));
    }

    #[test]
    fn invitation_links_privacy_page_in_both_parts() {
        let room = sample_room("dr-a", "2026-12-13");
        let cases = [
            (
                Locale::De,
                "https://v.example/datenschutz?lang=de",
                "lesen Sie in den Datenschutzhinweisen:",
            ),
            (
                Locale::En,
                "https://v.example/privacy?lang=en",
                "is set out in the privacy notice:",
            ),
        ];
        for (locale, url, intro) in cases {
            let email = render(
                &room,
                &invitee(locale, "Anna"),
                "https://v.example/join#t",
                "https://v.example",
                None,
            );
            assert!(
                email.text.contains(&format!("{intro}\n{url}\n")),
                "plain text of {locale:?}: {}",
                email.text
            );
            assert!(
                email.html.contains(intro),
                "HTML of {locale:?}: {}",
                email.html
            );
            assert!(
                email.html.contains(&format!("<a href=\"{url}\">{url}</a>")),
                "HTML of {locale:?}: {}",
                email.html
            );
        }
    }

    #[test]
    fn names_are_escaped_in_html() {
        let room = sample_room("dr-a", "2026-12-13");
        let email = render(
            &room,
            &invitee(Locale::De, "<b>Anna</b> & Co"),
            "https://v.example/join#t",
            "https://v.example",
            Some("<Praxis>"),
        );
        assert!(!email.html.contains("<b>Anna"));
        assert!(email.html.contains("&lt;b&gt;Anna&lt;/b&gt; &amp; Co"));
        assert!(email.html.contains("&lt;Praxis&gt;"));
        assert!(
            email.text.contains("<b>Anna</b> & Co"),
            "plain text stays as typed"
        );
    }

    /// Compares the rendered sample invitations with the files in
    /// docs/invitation-preview, or rewrites those files when the environment
    /// variable UPDATE_PREVIEWS is 1.
    #[test]
    fn invitation_previews_are_current() {
        let update = std::env::var("UPDATE_PREVIEWS").is_ok_and(|value| value == "1");
        let dir = preview_dir();
        let join_url = format!("https://video.example.test/join#{PREVIEW_TOKEN}");
        let mut outdated = Vec::new();

        for (locale, stem) in [(Locale::De, "de"), (Locale::En, "en")] {
            let email = render(
                &preview_room(),
                &invitee(locale, "Anna Beispiel"),
                &join_url,
                "https://video.example.test",
                Some("Praxis Dr. Weber"),
            );
            for (extension, body) in [("html", &email.html), ("txt", &email.text)] {
                let path = dir.join(format!("{stem}.{extension}"));
                if update {
                    std::fs::create_dir_all(&dir).unwrap_or_else(|error| {
                        panic!("creating {} failed: {error}", dir.display())
                    });
                    std::fs::write(&path, body).unwrap_or_else(|error| {
                        panic!("writing {} failed: {error}", path.display())
                    });
                } else if std::fs::read_to_string(&path).ok().as_ref() != Some(body) {
                    outdated.push(path.display().to_string());
                }
            }
        }

        assert!(
            outdated.is_empty(),
            "these invitation previews are missing or differ from the rendered email: {}\n\
             Regenerate them with `UPDATE_PREVIEWS=1 cargo test -p video-core invitation` \
             and review the diff.",
            outdated.join(", ")
        );
    }
}
