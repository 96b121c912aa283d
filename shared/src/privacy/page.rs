//! Wording and HTML of the privacy page. Every statement follows from the
//! code and the deployment's settings in [`PrivacyFacts`]. Statements about
//! AWS name their source where they stand.

use super::{Hosting, Operator, PrivacyFacts};
use crate::invitation::escape_html;
use crate::room::Locale;

/// The page in both languages, rendered once, because its facts do not
/// change while the process runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyPage {
    german: String,
    english: String,
}

impl PrivacyPage {
    pub fn new(facts: &PrivacyFacts) -> Self {
        Self {
            german: render(&german(facts), facts.operator.as_ref()),
            english: render(&english(facts), facts.operator.as_ref()),
        }
    }

    /// Returns the whole HTML document in `locale`.
    pub fn html(&self, locale: Locale) -> &str {
        match locale {
            Locale::De => &self.german,
            Locale::En => &self.english,
        }
    }
}

/// The texts of the page in one language.
struct Wording {
    lang: &'static str,
    title: &'static str,
    brand: &'static str,
    /// Language code and link text of the other language's version.
    other_language: (&'static str, &'static str),
    intro: &'static str,
    operator: OperatorWording,
    sections: Vec<Section>,
}

struct OperatorWording {
    heading: &'static str,
    email_label: &'static str,
    officer_label: &'static str,
    /// Shown when the operator gave no details.
    missing: &'static str,
}

struct Section {
    id: &'static str,
    heading: &'static str,
    blocks: Vec<Block>,
}

enum Block {
    Paragraph(String),
    /// A list whose items start with a bold label.
    Facts(Vec<(&'static str, String)>),
    Items(Vec<&'static str>),
}

/// City and country of the EU regions that `infra/template.yaml` allows,
/// in German and English.
fn region_place(region: &str) -> Option<(&'static str, &'static str)> {
    match region {
        "eu-central-1" => Some((
            "Frankfurt am Main, Deutschland",
            "Frankfurt am Main, Germany",
        )),
        "eu-west-1" => Some(("Irland", "Ireland")),
        "eu-west-3" => Some(("Paris, Frankreich", "Paris, France")),
        "eu-south-1" => Some(("Mailand, Italien", "Milan, Italy")),
        "eu-south-2" => Some(("Spanien", "Spain")),
        "eu-north-1" => Some(("Stockholm, Schweden", "Stockholm, Sweden")),
        _ => None,
    }
}

fn german_days(days: u32) -> String {
    if days == 1 {
        "1 Tag".to_owned()
    } else {
        format!("{days} Tage")
    }
}

fn english_days(days: u32) -> String {
    if days == 1 {
        "1 day".to_owned()
    } else {
        format!("{days} days")
    }
}

fn german(facts: &PrivacyFacts) -> Wording {
    let relay = match &facts.hosting {
        Hosting::Aws { relay: true, .. } => {
            "Ist keine direkte Verbindung möglich, etwa hinter einer strengen Firewall, laufen Bild, \
             Ton und Chat über den Weiterleitungsserver (TURN-Server) des Dienstes in Frankfurt am \
             Main. Sie bleiben dabei Ende-zu-Ende-verschlüsselt, und der Weiterleitungsserver kann \
             sie nicht entschlüsseln. Er sieht nur die IP-Adressen der Geräte und schreibt kein \
             Protokoll."
        }
        Hosting::Local { relay: true } => {
            "Ist keine direkte Verbindung möglich, etwa hinter einer strengen Firewall, laufen Bild, \
             Ton und Chat über einen Weiterleitungsserver (TURN-Server), den der Betreiber dieses \
             Dienstes festgelegt hat. Sie bleiben dabei Ende-zu-Ende-verschlüsselt, und der \
             Weiterleitungsserver kann sie nicht entschlüsseln."
        }
        Hosting::Aws { relay: false, .. } | Hosting::Local { relay: false } => {
            "Dieser Dienst nutzt keinen Weiterleitungsserver. Ein Gespräch kommt daher nur \
             zustande, wo eine direkte Verbindung möglich ist."
        }
    };

    let retention = german_days(facts.retention.as_days());
    let (location, deletion, participants, guessing, logs, mail) = match &facts.hosting {
        Hosting::Aws {
            region,
            log_retention_days,
            ..
        } => (
            match region_place(region) {
                Some((place, _)) => format!(
                    "Alle gespeicherten Daten liegen verschlüsselt bei Amazon Web Services (AWS) in \
                     der Region {region} ({place}), also in der EU."
                ),
                None => format!(
                    "Alle gespeicherten Daten liegen verschlüsselt bei Amazon Web Services (AWS) in \
                     der Region {region}."
                ),
            },
            // DynamoDB's TTL "typically deletes expired items within two days" (UpdateTimeToLive,
            // DynamoDB API Reference), and point-in-time recovery keeps 35 days by default
            // (PointInTimeRecoverySpecification), which infra/template.yaml does not change.
            " Ab dann liest der Dienst den Eintrag nicht mehr, und die Datenbank entfernt ihn in \
             der Regel innerhalb von zwei Tagen. Ihre Sicherung zur Wiederherstellung nach Fehlern \
             reicht 35 Tage zurück.",
            "Diese Einträge löscht der Dienst, wenn die Person das Gespräch verlässt. Spätestens \
             drei Stunden nach dem Aufbau der Verbindung verfallen sie.",
            "Der Dienst zählt ungültige Links je Internetadresse. Er speichert dabei nicht die \
             Adresse, sondern nur einen mit einem geheimen Schlüssel gebildeten Prüfwert (HMAC), \
             und der Zähler verfällt nach höchstens zwei Minuten."
                .to_owned(),
            // CloudWatch deletes expired log events "typically" within 72 hours
            // (PutRetentionPolicy, CloudWatch Logs API Reference).
            format!(
                "Technische Protokolle der Server-Funktionen, etwa Fehlermeldungen, bewahrt AWS \
                 CloudWatch in derselben Region {} auf und löscht sie danach in der Regel \
                 innerhalb von drei Tagen. Sie enthalten keine Namen der Teilnehmenden, keine \
                 E-Mail-Adressen, Links oder IP-Adressen; die Praxis erscheint darin nur mit \
                 ihrer Kennung.",
                german_days(*log_retention_days)
            ),
            "Einladungen verschickt der Dienst über Amazon Simple Email Service (SES) in derselben \
             Region. Eine Einladung enthält Name und E-Mail-Adresse der eingeladenen Person, Datum \
             und Uhrzeit des Termins, den Link zum Gespräch und kurze Hinweise."
                .to_owned(),
        ),
        Hosting::Local { .. } => (
            "Alle gespeicherten Daten liegen auf dem Server, auf dem dieser Dienst läuft, in \
             Dateien, die nur das Benutzerkonto des Dienstes lesen darf."
                .to_owned(),
            " Der Server entfernt abgelaufene Termine stündlich aus seiner Datenbank.",
            "Sie liegen nur im Arbeitsspeicher und werden gelöscht, wenn die Person das Gespräch \
             verlässt.",
            "Der Server zählt ungültige Links und fehlgeschlagene Anmeldungen je Internetadresse, \
             nur im Arbeitsspeicher und ohne etwas davon auf die Festplatte zu schreiben. Eine \
             Sperre endet nach einer Minute."
                .to_owned(),
            "Der Server schreibt technische Protokolle, etwa Fehlermeldungen. Wie lange sie \
             aufbewahrt werden, legt der Betreiber fest. Sie enthalten keine Namen der \
             Teilnehmenden, keine E-Mail-Adressen, Links oder IP-Adressen; die Praxis erscheint \
             darin nur mit ihrer Kennung."
                .to_owned(),
            // The hourly purge of the local server deletes outbox files one day
            // after the retention period, counted from writing.
            format!(
                "Dieser Server verschickt E-Mails nicht selbst. Er legt jede Einladung mit Name, \
                 E-Mail-Adresse und Link als Datei in einem Ordner auf dem Server ab und löscht \
                 sie dort {} nach dem Schreiben.",
                german_days(facts.retention.as_days() + 1)
            ),
        ),
    };

    Wording {
        lang: "de",
        title: "Datenschutzhinweise zur Videosprechstunde",
        brand: "Videosprechstunde",
        other_language: ("en", "English version"),
        intro: "Diese Seite erklärt, was der Videodienst mit Daten macht: wie ein Gespräch \
                übertragen wird, was er speichert, wo und wie lange.",
        operator: OperatorWording {
            heading: "Wer den Dienst betreibt",
            email_label: "E-Mail:",
            officer_label: "Datenschutzbeauftragte oder Datenschutzbeauftragter:",
            missing: "Der Betreiber dieses Dienstes hat hier keinen Namen und keine Anschrift \
                      angegeben. Bitte wenden Sie sich mit Fragen zum Datenschutz an Ihre Praxis.",
        },
        sections: vec![
            Section {
                id: "privacy-call",
                heading: "Wie ein Gespräch übertragen wird",
                blocks: vec![
                    Block::Paragraph(
                        "Bild, Ton und Chat gehen direkt von Browser zu Browser (Peer-to-Peer) und \
                         sind Ende-zu-Ende-verschlüsselt: Bild und Ton mit DTLS-SRTP, der Chat mit \
                         DTLS. Entschlüsseln können sie nur die Geräte der Teilnehmenden."
                            .to_owned(),
                    ),
                    Block::Paragraph(
                        "Der Server des Dienstes vermittelt nur den Verbindungsaufbau. Dazu reicht \
                         er technische Verbindungsangaben der Browser weiter, darunter ihre \
                         IP-Adressen, ohne sie zu speichern. Bild, Ton und Chat erreichen ihn nicht."
                            .to_owned(),
                    ),
                    Block::Paragraph(relay.to_owned()),
                    Block::Paragraph(
                        "Gespräche werden nicht aufgezeichnet. Was gesprochen, gezeigt oder im \
                         Chat geschrieben wird, speichert der Dienst nirgends."
                            .to_owned(),
                    ),
                ],
            },
            Section {
                id: "privacy-storage",
                heading: "Was gespeichert wird, wo und wie lange",
                blocks: vec![
                    Block::Paragraph(location),
                    Block::Facts(vec![
                        (
                            "Termine:",
                            "Datum, Uhrzeit und Zeitzone, ein Titel und eine PatientInnen-Kennung \
                             aus der Praxissoftware, soweit die Praxis sie angibt, dazu Name, \
                             E-Mail-Adresse und Sprache jeder eingeladenen Person, der Versandstand \
                             ihrer Einladung und die Gesprächsdauer, also wie lange mindestens zwei \
                             Personen verbunden waren."
                                .to_owned(),
                        ),
                        (
                            "Löschung:",
                            format!(
                                "Die E-Mail-Adressen löscht der Dienst nach dem Ende des \
                                 Termintags, alles andere {retention} danach. Die Praxis kann \
                                 einen Termin auch früher löschen.{deletion}"
                            ),
                        ),
                        (
                            "„Immer per Video“:",
                            "Stellt die Praxis eine PatientInnen-Kennung auf „immer per Video“, \
                             speichert der Dienst die Kennung mit dieser Einstellung, bis die \
                             Praxis sie wieder entfernt."
                                .to_owned(),
                        ),
                        (
                            "Während eines Gesprächs:",
                            format!(
                                "der angezeigte Name jeder teilnehmenden Person und die Kennung \
                                 ihrer Verbindung. {participants}"
                            ),
                        ),
                        ("Schutz vor Rateversuchen:", guessing),
                        ("Protokolle:", logs),
                        ("E-Mails:", mail),
                    ]),
                ],
            },
            Section {
                id: "privacy-browser",
                heading: "In Ihrem Browser",
                blocks: vec![Block::Items(vec![
                    "Die Seiten setzen keine Cookies und enthalten kein Tracking, keine Werbung und \
                     keine Analysewerkzeuge.",
                    "Sie laden nichts von anderen Anbietern: keine Schriften, keine Skripte und \
                     keine fremden STUN- oder TURN-Server.",
                    "Die Beitrittsseite merkt sich im Speicher Ihres Browsers (localStorage) den \
                     Namen, mit dem Sie zuletzt teilgenommen haben, und die gewählte Kamera und das \
                     gewählte Mikrofon, damit Sie beim nächsten Mal nichts neu wählen müssen. \
                     Löschen können Sie diese Angaben in den Einstellungen Ihres Browsers, \
                     zusammen mit den Websitedaten dieser Seite.",
                    "Während eines Gesprächs legt die Beitrittsseite dort auch ihren Platz im \
                     Gespräch ab: eine zufällige Teilnahmekennung, einen Schlüssel dazu und eine \
                     Prüfsumme (SHA-256) des Zugangscodes aus dem Einladungslink, nicht den Code \
                     selbst. Stürzt der Browser ab und öffnen Sie den Link erneut, gibt die neue \
                     Seite damit Ihren alten Platz sofort frei. Verlassen Sie das Gespräch oder \
                     schließen Sie den Tab, löscht die Seite diese Angaben. Nach einem Absturz \
                     werden sie beim nächsten Gespräch ersetzt.",
                    "Auf der Seite der Praxis bleibt das API-Token nur im geöffneten Browser-Tab \
                     (sessionStorage). Die zuletzt gewählte Zeitzone speichert die Seite der Praxis \
                     im localStorage.",
                ])],
            },
        ],
    }
}

fn english(facts: &PrivacyFacts) -> Wording {
    let relay = match &facts.hosting {
        Hosting::Aws { relay: true, .. } => {
            "Where no direct connection is possible, for example behind a strict firewall, video, \
             sound and chat go through the service's relay server (TURN server) in Frankfurt am \
             Main, Germany. They stay end-to-end encrypted, and the relay server cannot decrypt \
             them. It sees only the devices' IP addresses and keeps no log."
        }
        Hosting::Local { relay: true } => {
            "Where no direct connection is possible, for example behind a strict firewall, video, \
             sound and chat go through a relay server (TURN server) chosen by the operator of this \
             service. They stay end-to-end encrypted, and the relay server cannot decrypt them."
        }
        Hosting::Aws { relay: false, .. } | Hosting::Local { relay: false } => {
            "This service uses no relay server, so a call works only where a direct connection is \
             possible."
        }
    };

    let retention = english_days(facts.retention.as_days());
    let (location, deletion, participants, guessing, logs, mail) = match &facts.hosting {
        Hosting::Aws {
            region,
            log_retention_days,
            ..
        } => (
            match region_place(region) {
                Some((_, place)) => format!(
                    "All stored data lie encrypted at Amazon Web Services (AWS) in the region \
                     {region} ({place}), in the EU."
                ),
                None => format!(
                    "All stored data lie encrypted at Amazon Web Services (AWS) in the region \
                     {region}."
                ),
            },
            " From then on the service no longer reads the record, and the database usually \
             removes it within two days. Its backup for recovering from faults reaches back 35 \
             days.",
            "The service deletes these records when the person leaves the call. They expire three \
             hours after the connection was set up at the latest.",
            "The service counts invalid links per internet address. It stores not the address but \
             only a check value computed with a secret key (HMAC), and the count expires after two \
             minutes at most."
                .to_owned(),
            format!(
                "AWS CloudWatch keeps the technical logs of the server functions, such as error \
                 messages, in the same region for {} and usually deletes them within three days \
                 after that. They contain no participants' names, email addresses, links or IP \
                 addresses, and the practice appears in them only by its identifier.",
                english_days(*log_retention_days)
            ),
            "The service sends invitations through Amazon Simple Email Service (SES) in the same \
             region. An invitation contains the invitee's name and email address, the date and \
             time of the appointment, the link to the call and short instructions."
                .to_owned(),
        ),
        Hosting::Local { .. } => (
            "All stored data are kept on the server that runs this service, in files that only the \
             service's user account may read."
                .to_owned(),
            " The server removes expired appointments from its database every hour.",
            "They are kept in memory only and deleted when the person leaves the call.",
            "The server counts invalid links and failed sign-ins per internet address, in memory \
             only and without writing any of it to disk. A block ends after one minute."
                .to_owned(),
            "The server writes technical logs, such as error messages. The operator decides how \
             long they are kept. They contain no participants' names, email addresses, links or IP \
             addresses, and the practice appears in them only by its identifier."
                .to_owned(),
            format!(
                "This server sends no email itself. It stores each invitation, with name, email \
                 address and link, as a file in a folder on the server, and deletes it there {} \
                 after writing it.",
                english_days(facts.retention.as_days() + 1)
            ),
        ),
    };

    Wording {
        lang: "en",
        title: "Privacy notice for video consultations",
        brand: "Video consultation",
        other_language: ("de", "Deutsche Fassung"),
        intro: "This page explains what the video service does with data: how a call travels, what \
                it stores, where, and for how long.",
        operator: OperatorWording {
            heading: "Who runs this service",
            email_label: "Email:",
            officer_label: "Data protection officer:",
            missing: "The operator of this service has not given a name or an address here. \
                      Please ask your practice about data protection.",
        },
        sections: vec![
            Section {
                id: "privacy-call",
                heading: "How a call travels",
                blocks: vec![
                    Block::Paragraph(
                        "Video, sound and chat go directly from browser to browser (peer to peer) \
                         and are end-to-end encrypted: video and sound with DTLS-SRTP, the chat \
                         with DTLS. Only the participants' devices can decrypt them."
                            .to_owned(),
                    ),
                    Block::Paragraph(
                        "The service's server only helps the browsers set up the connection. For \
                         this it passes technical connection details between them, including \
                         their IP addresses, without storing them. Video, sound and chat never \
                         reach it."
                            .to_owned(),
                    ),
                    Block::Paragraph(relay.to_owned()),
                    Block::Paragraph(
                        "Calls are not recorded. Nothing that is said, shown or written in the \
                         chat is stored anywhere."
                            .to_owned(),
                    ),
                ],
            },
            Section {
                id: "privacy-storage",
                heading: "What is stored, where and for how long",
                blocks: vec![
                    Block::Paragraph(location),
                    Block::Facts(vec![
                        (
                            "Appointments:",
                            "date, time and time zone, a title and a patient ID from the practice \
                             software where the practice gives them, and each invitee's name, \
                             email address and language, the state of their invitation and the \
                             call time, that is how long at least two people were connected."
                                .to_owned(),
                        ),
                        (
                            "Deletion:",
                            format!(
                                "The service deletes the email addresses after the end of the \
                                 appointment day, and everything else {retention} after it. The \
                                 practice can also delete an appointment earlier.{deletion}"
                            ),
                        ),
                        (
                            "“Always video”:",
                            "When the practice sets a patient ID to “always video”, the service \
                             stores that ID with the setting until the practice removes it."
                                .to_owned(),
                        ),
                        (
                            "During a call:",
                            format!(
                                "the display name of each participant and the ID of their \
                                 connection. {participants}"
                            ),
                        ),
                        ("Protection against guessing:", guessing),
                        ("Logs:", logs),
                        ("Emails:", mail),
                    ]),
                ],
            },
            Section {
                id: "privacy-browser",
                heading: "In your browser",
                blocks: vec![Block::Items(vec![
                    "The pages set no cookies and contain no tracking, no advertising and no \
                     analytics.",
                    "They load nothing from other providers: no fonts, no scripts and no \
                     third-party STUN or TURN servers.",
                    "The join page keeps in your browser's storage (localStorage) the name you last \
                     joined with and your chosen camera and microphone, so that you need not \
                     choose them again next time. You can delete them in your browser's settings, \
                     together with this site's data.",
                    "During a call, the join page also keeps its place in the call there: a random \
                     participant ID, a key for it and a checksum (SHA-256) of the access code in \
                     the invitation link, not the code itself. If your browser crashes and you \
                     open the link again, the new page uses them to free your old place at once. \
                     When you leave the call or close the tab, the page deletes them. After a \
                     crash, they are replaced in the next call.",
                    "On the practice's page, the API token stays only in the open browser tab \
                     (sessionStorage). The practice's page keeps the time zone chosen last in \
                     localStorage.",
                ])],
            },
        ],
    }
}

/// Returns a `mailto:` address for an `href`, percent-encoding every byte
/// outside letters, digits and `@._+-`, so that characters such as `?` in
/// the local part cannot start a query.
fn mailto_href(email: &str) -> String {
    let mut href = String::from("mailto:");
    for byte in email.bytes() {
        if byte.is_ascii_alphanumeric() || b"@._+-".contains(&byte) {
            href.push(char::from(byte));
        } else {
            href.push_str(&format!("%{byte:02X}"));
        }
    }
    href
}

fn render_operator(html: &mut String, words: &OperatorWording, operator: Option<&Operator>) {
    html.push_str(&format!(
        "<section aria-labelledby=\"privacy-operator\">\n<h2 id=\"privacy-operator\">{}</h2>\n",
        escape_html(words.heading)
    ));
    let Some(operator) = operator else {
        html.push_str(&format!(
            "<p class=\"notice\" data-testid=\"privacy-operator-missing\">{}</p>\n</section>\n",
            escape_html(words.missing)
        ));
        return;
    };
    html.push_str("<p data-testid=\"privacy-operator\">");
    html.push_str(&escape_html(&operator.name));
    if let Some(address) = &operator.address {
        html.push_str(&format!("<br>{}", escape_html(address)));
    }
    if let Some(email) = &operator.email {
        html.push_str(&format!(
            "<br>{} <a href=\"{}\">{}</a>",
            escape_html(words.email_label),
            escape_html(&mailto_href(email)),
            escape_html(email)
        ));
    }
    html.push_str("</p>\n");
    if let Some(officer) = &operator.data_protection_officer {
        html.push_str(&format!(
            "<p data-testid=\"privacy-officer\">{} {}</p>\n",
            escape_html(words.officer_label),
            escape_html(officer)
        ));
    }
    html.push_str("</section>\n");
}

fn render_block(html: &mut String, block: &Block) {
    match block {
        Block::Paragraph(text) => html.push_str(&format!("<p>{}</p>\n", escape_html(text))),
        Block::Facts(facts) => {
            html.push_str("<ul>\n");
            for (label, text) in facts {
                html.push_str(&format!(
                    "<li><strong>{}</strong> {}</li>\n",
                    escape_html(label),
                    escape_html(text)
                ));
            }
            html.push_str("</ul>\n");
        }
        Block::Items(items) => {
            html.push_str("<ul>\n");
            for item in items {
                html.push_str(&format!("<li>{}</li>\n", escape_html(item)));
            }
            html.push_str("</ul>\n");
        }
    }
}

/// Renders the document: no script and no style attribute, so that it
/// works under the pages' Content-Security-Policy, and only `/css/app.css`
/// from the same origin.
fn render(words: &Wording, operator: Option<&Operator>) -> String {
    let (other_lang, other_label) = words.other_language;
    let mut html = format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"color-scheme\" content=\"light\">\n\
         <title>{title}</title>\n<link rel=\"icon\" href=\"data:,\">\n\
         <link rel=\"stylesheet\" href=\"/css/app.css\">\n</head>\n\
         <body class=\"privacy-page\">\n\
         <header class=\"page-header\"><p class=\"brand\">{brand}</p></header>\n\
         <main class=\"privacy-main\">\n\
         <p class=\"language-switch\"><a href=\"?lang={other_lang}\" hreflang=\"{other_lang}\" \
         lang=\"{other_lang}\" data-testid=\"privacy-language\">{other_label}</a></p>\n\
         <h1>{title}</h1>\n<p class=\"intro\">{intro}</p>\n",
        lang = words.lang,
        title = escape_html(words.title),
        brand = escape_html(words.brand),
        other_label = escape_html(other_label),
        intro = escape_html(words.intro),
    );
    render_operator(&mut html, &words.operator, operator);
    for section in &words.sections {
        html.push_str(&format!(
            "<section aria-labelledby=\"{id}\">\n<h2 id=\"{id}\">{}</h2>\n",
            escape_html(section.heading),
            id = section.id
        ));
        for block in &section.blocks {
            render_block(&mut html, block);
        }
        html.push_str("</section>\n");
    }
    html.push_str("</main>\n</body>\n</html>\n");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::Retention;

    fn operator() -> Operator {
        Operator {
            name: "Praxis <Weber> & \"Partner\"".to_owned(),
            address: Some("Hauptstraße 1, 10115 Berlin".to_owned()),
            email: Some("daten?schutz@praxis.example".to_owned()),
            data_protection_officer: Some("Dr. Jana Roth <dsb@praxis.example>".to_owned()),
        }
    }

    fn aws_facts(relay: bool) -> PrivacyFacts {
        PrivacyFacts {
            operator: Some(operator()),
            hosting: Hosting::Aws {
                region: "eu-central-1".to_owned(),
                log_retention_days: 30,
                relay,
            },
            retention: Retention::days(8).unwrap(),
        }
    }

    fn local_facts(relay: bool) -> PrivacyFacts {
        PrivacyFacts {
            operator: None,
            hosting: Hosting::Local { relay },
            retention: Retention::days(1).unwrap(),
        }
    }

    #[test]
    fn operator_details_are_escaped() {
        let page = PrivacyPage::new(&aws_facts(true));
        for locale in [Locale::De, Locale::En] {
            let html = page.html(locale);
            assert!(
                html.contains("Praxis &lt;Weber&gt; &amp; &quot;Partner&quot;"),
                "{html}"
            );
            assert!(!html.contains("<Weber>"), "{html}");
            assert!(html.contains("Dr. Jana Roth &lt;dsb@praxis.example&gt;"));
            assert!(html.contains("href=\"mailto:daten%3Fschutz@praxis.example\""));
            assert!(!html.contains("privacy-operator-missing"));
        }
    }

    #[test]
    fn missing_operator_is_stated() {
        let page = PrivacyPage::new(&local_facts(false));
        assert!(
            page.html(Locale::De)
                .contains("hat hier keinen Namen und keine Anschrift angegeben")
        );
        assert!(
            page.html(Locale::En)
                .contains("has not given a name or an address here")
        );
    }

    #[test]
    fn aws_page_names_region_retention_and_logs() {
        let page = PrivacyPage::new(&aws_facts(true));
        let german = page.html(Locale::De);
        assert!(german.contains("<html lang=\"de\">"));
        assert!(german.contains("Region eu-central-1 (Frankfurt am Main, Deutschland)"));
        assert!(german.contains("alles andere 8 Tage danach"));
        assert!(german.contains("CloudWatch in derselben Region 30 Tage auf"));
        assert!(german.contains("in der Regel innerhalb von drei Tagen"));
        assert!(german.contains("Weiterleitungsserver (TURN-Server) des Dienstes in Frankfurt"));
        assert!(german.contains("Amazon Simple Email Service (SES)"));
        let english = page.html(Locale::En);
        assert!(english.contains("<html lang=\"en\">"));
        assert!(english.contains("region eu-central-1 (Frankfurt am Main, Germany), in the EU"));
        assert!(english.contains("everything else 8 days after it"));
        assert!(english.contains("in the same region for 30 days"));
    }

    #[test]
    fn unknown_region_makes_no_eu_claim() {
        let mut facts = aws_facts(false);
        facts.hosting = Hosting::Aws {
            region: "xx-test-1".to_owned(),
            log_retention_days: 1,
            relay: false,
        };
        let page = PrivacyPage::new(&facts);
        assert!(page.html(Locale::De).contains("in der Region xx-test-1."));
        assert!(!page.html(Locale::De).contains("in der EU"));
        assert!(
            page.html(Locale::En)
                .contains("for 1 day and usually deletes them")
        );
    }

    #[test]
    fn local_page_names_outbox_and_memory() {
        let page = PrivacyPage::new(&local_facts(false));
        let german = page.html(Locale::De);
        assert!(german.contains("alles andere 1 Tag danach"));
        assert!(german.contains("löscht sie dort 2 Tage nach dem Schreiben"));
        assert!(german.contains("nur im Arbeitsspeicher"));
        assert!(!german.contains("AWS"));
        let english = page.html(Locale::En);
        assert!(english.contains("everything else 1 day after it"));
        assert!(english.contains("deletes it there 2 days after writing it"));
    }

    #[test]
    fn relay_text_follows_configuration() {
        let aws = PrivacyPage::new(&aws_facts(true));
        assert!(
            aws.html(Locale::En)
                .contains("in Frankfurt am Main, Germany")
        );
        let local = PrivacyPage::new(&local_facts(true));
        assert!(local.html(Locale::En).contains("chosen by the operator"));
        assert!(!local.html(Locale::En).contains("Frankfurt"));
        let none = PrivacyPage::new(&local_facts(false));
        assert!(
            none.html(Locale::De)
                .contains("nutzt keinen Weiterleitungsserver")
        );
        assert!(none.html(Locale::En).contains("uses no relay server"));
    }

    #[test]
    fn page_has_no_script_or_inline_style() {
        for facts in [aws_facts(true), local_facts(false)] {
            let page = PrivacyPage::new(&facts);
            for locale in [Locale::De, Locale::En] {
                let html = page.html(locale);
                assert!(!html.contains("<script"), "{html}");
                assert!(!html.contains("style="), "{html}");
                assert!(
                    !html.contains("http://") && !html.contains("https://"),
                    "{html}"
                );
            }
        }
    }

    #[test]
    fn language_switch_links_other_version() {
        let page = PrivacyPage::new(&local_facts(false));
        assert!(page.html(Locale::De).contains("href=\"?lang=en\""));
        assert!(page.html(Locale::En).contains("href=\"?lang=de\""));
    }
}
