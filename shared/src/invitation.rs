//! The invitation email of a room's day, in German or English, as HTML with a
//! plain-text alternative.

use crate::mail::Email;
use crate::room::{Invitee, Locale, Room};

/// Escapes text for HTML element content and attribute values.
fn escape_html(text: &str) -> String {
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

struct Wording {
    subject: String,
    greeting: String,
    intro: String,
    button: &'static str,
    help_title: &'static str,
    help: [&'static str; 3],
    privacy: &'static str,
    closing: &'static str,
}

fn wording(room: &Room, invitee: &Invitee, practice: Option<&str>) -> Wording {
    match invitee.locale {
        Locale::De => {
            let date = room.date.format("%d.%m.%Y").to_string();
            let time = room
                .start_time
                .map(|time| format!(" um {} Uhr", time.format("%H:%M")))
                .unwrap_or_default();
            let with = practice
                .map(|name| format!(" mit {name}"))
                .unwrap_or_default();
            Wording {
                subject: format!("Ihr Videotermin heute, {date}{time}"),
                greeting: format!("Guten Tag {},", invitee.name),
                intro: format!(
                    "heute, am {date}{time}, findet Ihr Videotermin{with} statt. Über diesen Link gelangen Sie zum Gespräch:"
                ),
                button: "Zum Videogespräch",
                help_title: "So gelingt die Teilnahme:",
                help: [
                    "Öffnen Sie den Link am Computer, Smartphone oder Tablet in einem aktuellen Browser: Chrome, Firefox, Safari oder Edge. Sie müssen nichts installieren.",
                    "Erlauben Sie den Zugriff auf Kamera und Mikrofon, wenn Ihr Browser danach fragt.",
                    "Der Link gilt nur heute. Verwenden Sie bitte immer den Link aus der E-Mail des Termintages.",
                ],
                privacy: "Das Gespräch wird nicht aufgezeichnet. Bild und Ton gehen verschlüsselt direkt zwischen Ihnen und der Praxis.",
                closing: "Mit freundlichen Grüßen",
            }
        }
        Locale::En => {
            let date = room.date.format("%-d %B %Y").to_string();
            let time = room
                .start_time
                .map(|time| format!(" at {}", time.format("%H:%M")))
                .unwrap_or_default();
            let with = practice
                .map(|name| format!(" with {name}"))
                .unwrap_or_default();
            Wording {
                subject: format!("Your video appointment today, {date}{time}"),
                greeting: format!("Dear {},", invitee.name),
                intro: format!(
                    "your video appointment{with} is today, {date}{time}. This link takes you to the call:"
                ),
                button: "Join the video call",
                help_title: "How to join:",
                help: [
                    "Open the link on a computer, phone or tablet in an up-to-date browser: Chrome, Firefox, Safari or Edge. There is nothing to install.",
                    "Allow access to camera and microphone when your browser asks.",
                    "The link works only today. Please always use the link from the email of the appointment day.",
                ],
                privacy: "The call is not recorded. Picture and sound travel encrypted directly between you and the practice.",
                closing: "Kind regards",
            }
        }
    }
}

/// Renders the invitation for one invitee of a room on the room's day.
pub fn render(room: &Room, invitee: &Invitee, join_url: &str, practice: Option<&str>) -> Email {
    let words = wording(room, invitee, practice);
    let signature = practice.unwrap_or(match invitee.locale {
        Locale::De => "Ihre Praxis",
        Locale::En => "Your practice",
    });

    let mut text = format!(
        "{}\n\n{}\n\n{join_url}\n\n{}\n",
        words.greeting, words.intro, words.help_title
    );
    for line in words.help {
        text.push_str(&format!("- {line}\n"));
    }
    text.push_str(&format!(
        "\n{}\n\n{}\n{signature}\n",
        words.privacy, words.closing
    ));

    let lang = match invitee.locale {
        Locale::De => "de",
        Locale::En => "en",
    };
    let link = escape_html(join_url);
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\
         <body style=\"font-family:sans-serif;line-height:1.5;color:#1f2933;max-width:36em\">\
         <p>{}</p><p>{}</p>\
         <p><a href=\"{link}\" style=\"display:inline-block;padding:0.7em 1.2em;background:#1d5c8f;color:#ffffff;text-decoration:none;border-radius:6px\">{}</a></p>\
         <p style=\"font-size:0.9em;word-break:break-all\">{link}</p>\
         <p><strong>{}</strong></p><ul>",
        escape_html(&words.subject),
        escape_html(&words.greeting),
        escape_html(&words.intro),
        words.button,
        words.help_title,
    );
    for line in words.help {
        html.push_str(&format!("<li>{}</li>", escape_html(line)));
    }
    html.push_str(&format!(
        "</ul><p>{}</p><p>{}<br>{}</p></body></html>",
        escape_html(words.privacy),
        words.closing,
        escape_html(signature)
    ));

    Email {
        to: invitee.email.clone(),
        subject: words.subject,
        html,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::contract::sample_room;

    fn invitee(locale: Locale, name: &str) -> Invitee {
        Invitee {
            name: name.to_owned(),
            email: "anna@example.org".to_owned(),
            locale,
        }
    }

    #[test]
    fn german_invitation_has_date_time_and_link() {
        let mut room = sample_room("dr-a", "2026-12-13");
        room.start_time = chrono::NaiveTime::from_hms_opt(9, 30, 0);
        let email = render(
            &room,
            &invitee(Locale::De, "Anna"),
            "https://v.example/join#t",
            Some("Praxis Weber"),
        );
        assert_eq!(
            email.subject,
            "Ihr Videotermin heute, 13.12.2026 um 09:30 Uhr"
        );
        assert!(email.text.contains("https://v.example/join#t"));
        assert!(email.text.contains("Chrome, Firefox, Safari oder Edge"));
        assert!(email.text.contains("mit Praxis Weber"));
        assert!(email.html.contains("href=\"https://v.example/join#t\""));
        assert!(email.html.contains("lang=\"de\""));
    }

    #[test]
    fn english_invitation_for_english_locale() {
        let room = sample_room("dr-a", "2026-12-13");
        let email = render(
            &room,
            &invitee(Locale::En, "Anna"),
            "https://v.example/join#t",
            None,
        );
        assert_eq!(
            email.subject,
            "Your video appointment today, 13 December 2026"
        );
        assert!(email.text.contains("Your practice"));
        assert!(email.html.contains("lang=\"en\""));
    }

    #[test]
    fn names_are_escaped_in_html() {
        let room = sample_room("dr-a", "2026-12-13");
        let email = render(
            &room,
            &invitee(Locale::De, "<b>Anna</b> & Co"),
            "https://v.example/join#t",
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
}
