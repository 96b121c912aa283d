//! The privacy page ("Datenschutzhinweise") at `/privacy` and `/datenschutz`:
//! what the video service does with data, in German and English. It is
//! rendered once at start-up from the deployment's settings and the
//! operator's details, which come from configuration.

mod page;

pub use page::PrivacyPage;

use crate::room::{Locale, Retention};

/// Paths that serve the page. `/datenschutz` is the German alias.
pub const PATHS: [&str; 2] = ["/privacy", "/datenschutz"];

/// Maximum length of the operator name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Maximum length of the postal address, in characters.
pub const MAX_ADDRESS_CHARS: usize = 300;
/// Maximum length of the email address, in bytes (the RFC 5321 path limit).
pub const MAX_EMAIL_BYTES: usize = 254;
/// Maximum length of the data protection officer's contact, in characters.
pub const MAX_OFFICER_CHARS: usize = 300;

/// One setting of the operator's details.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorField {
    Name,
    Address,
    Email,
    DataProtectionOfficer,
}

/// Operator details that cannot be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorError {
    /// A value breaks its rule.
    Invalid {
        field: OperatorField,
        reason: String,
    },
    /// A contact detail is set, but the operator's name is not.
    MissingName { given: OperatorField },
    /// The name is set, but neither a postal nor an email address.
    MissingContact,
}

impl OperatorError {
    /// Describes the error with the names the caller gives the settings,
    /// such as `--operator-name` or `OPERATOR_NAME`.
    pub fn describe(&self, setting: impl Fn(OperatorField) -> &'static str) -> String {
        match self {
            Self::Invalid { field, reason } => format!("{}: {reason}", setting(*field)),
            Self::MissingName { given } => format!(
                "{} needs {}, because the privacy page names the operator with the contact",
                setting(*given),
                setting(OperatorField::Name)
            ),
            Self::MissingContact => format!(
                "{} needs {} or {}, so that readers of the privacy page can contact the operator",
                setting(OperatorField::Name),
                setting(OperatorField::Address),
                setting(OperatorField::Email)
            ),
        }
    }
}

/// Operator of the service, as the privacy page names them. Every value has
/// passed [`check_value`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
    /// Postal address on one line, such as "Hauptstraße 1, 10115 Berlin".
    pub address: Option<String>,
    pub email: Option<String>,
    /// Contact of the data protection officer, such as a name and an email
    /// address.
    pub data_protection_officer: Option<String>,
}

/// The operator's details as configured, not yet checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorSettings {
    pub name: Option<String>,
    pub address: Option<String>,
    pub email: Option<String>,
    pub data_protection_officer: Option<String>,
}

impl OperatorSettings {
    /// Checks every value and that they fit together: a name needs a postal
    /// or an email address, and any other detail needs the name. Returns
    /// `None` when nothing is set.
    pub fn check(self) -> Result<Option<Operator>, OperatorError> {
        let checked = |field: OperatorField, value: Option<String>| {
            value
                .map(|text| {
                    check_value(field, &text)
                        .map_err(|reason| OperatorError::Invalid { field, reason })
                })
                .transpose()
        };
        let name = checked(OperatorField::Name, self.name)?;
        let address = checked(OperatorField::Address, self.address)?;
        let email = checked(OperatorField::Email, self.email)?;
        let data_protection_officer = checked(
            OperatorField::DataProtectionOfficer,
            self.data_protection_officer,
        )?;

        let Some(name) = name else {
            let given = [
                (OperatorField::Address, address.is_some()),
                (OperatorField::Email, email.is_some()),
                (
                    OperatorField::DataProtectionOfficer,
                    data_protection_officer.is_some(),
                ),
            ]
            .into_iter()
            .find_map(|(field, set)| set.then_some(field));
            return match given {
                Some(given) => Err(OperatorError::MissingName { given }),
                None => Ok(None),
            };
        };
        if address.is_none() && email.is_none() {
            return Err(OperatorError::MissingContact);
        }
        Ok(Some(Operator {
            name,
            address,
            email,
            data_protection_officer,
        }))
    }
}

/// Checks one operator detail and returns it trimmed. Text must have 1 to
/// the field's maximum of characters and no control or bidirectional
/// formatting characters, which could hide or reorder what the page shows.
/// The email address must be a plain address such as `datenschutz@praxis.de`.
pub fn check_value(field: OperatorField, text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    if field == OperatorField::Email {
        return check_email(trimmed);
    }
    let max = match field {
        OperatorField::Name => MAX_NAME_CHARS,
        OperatorField::Address => MAX_ADDRESS_CHARS,
        OperatorField::Email | OperatorField::DataProtectionOfficer => MAX_OFFICER_CHARS,
    };
    let length = trimmed.chars().count();
    if length == 0 || length > max {
        return Err(format!(
            "expected 1 to {max} characters, got {length} after trimming"
        ));
    }
    if let Some(bad) = trimmed
        .chars()
        .find(|&character| is_hidden_control(character))
    {
        return Err(format!(
            "control and bidirectional formatting characters are not allowed, found U+{:04X}; \
             write the value on one line",
            u32::from(bad)
        ));
    }
    Ok(trimmed.to_owned())
}

/// Control characters (line breaks included) and the Unicode bidirectional
/// formatting characters.
fn is_hidden_control(character: char) -> bool {
    character.is_control()
        || matches!(
            character,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

fn check_email(text: &str) -> Result<String, String> {
    let options = email_address::Options::default()
        .with_required_tld()
        .without_domain_literal();
    let plain = !text.is_empty()
        && text.len() <= MAX_EMAIL_BYTES
        && !text.contains(['<', '>', '"', ' '])
        && !text.chars().any(is_hidden_control);
    if plain && email_address::EmailAddress::parse_with_options(text, options).is_ok() {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "expected a plain email address of at most {MAX_EMAIL_BYTES} bytes, \
             such as datenschutz@praxis.example, got {text:?}"
        ))
    }
}

/// Where the service runs, which decides where data lie, how they are
/// deleted and how invitations leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hosting {
    /// `video-local`: one process with an embedded database that writes
    /// invitations as files to its outbox. `relay` is true with `--turn-url`.
    Local { relay: bool },
    /// The SAM stack of `infra/template.yaml` in `region`. `relay` is true
    /// when `TurnUrls` is set. The page then places the relay in Frankfurt,
    /// the only region that `infra/turn/stack.yaml` deploys to.
    Aws {
        region: String,
        log_retention_days: u32,
        relay: bool,
    },
}

/// The facts the page states about one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyFacts {
    /// `None` makes the page state that the operator gave no details.
    pub operator: Option<Operator>,
    pub hosting: Hosting,
    /// How long rooms are kept after their day.
    pub retention: Retention,
}

/// Chooses the page's language: `lang=de` or `lang=en` in the query wins,
/// else the first German or English range of `Accept-Language` by weight,
/// else German. This matches the join page, which picks the first German
/// or English entry of `navigator.languages`.
pub fn choose_locale(query: Option<&str>, accept_language: Option<&str>) -> Locale {
    let requested = query
        .into_iter()
        .flat_map(|query| query.split('&'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "lang")
        .and_then(|(_, value)| locale_of_tag(value));
    requested
        .or_else(|| accept_language.and_then(preferred_locale))
        .unwrap_or(Locale::De)
}

/// Returns the first German or English language range of an
/// `Accept-Language` value, ordered by weight. A range with `q=0` marks a
/// language as not acceptable, so it is skipped.
fn preferred_locale(header: &str) -> Option<Locale> {
    let mut ranges: Vec<(u16, usize, Locale)> = header
        .split(',')
        .enumerate()
        .filter_map(|(position, part)| {
            let mut pieces = part.split(';');
            let locale = locale_of_tag(pieces.next()?.trim())?;
            let weight = pieces
                .find_map(|parameter| parameter.trim().strip_prefix("q="))
                .map_or(Some(1000), parse_weight)?;
            (weight > 0).then_some((weight, position, locale))
        })
        .collect();
    // Highest weight first, and equal weights keep the header's order.
    ranges.sort_by_key(|&(weight, position, _)| (std::cmp::Reverse(weight), position));
    ranges.first().map(|&(_, _, locale)| locale)
}

/// Parses a `q` value (0 to 1, at most three decimals) as thousandths;
/// `None` when it is malformed.
fn parse_weight(text: &str) -> Option<u16> {
    let value: f32 = text.trim().parse().ok()?;
    (0.0..=1.0)
        .contains(&value)
        .then(|| (value * 1000.0).round() as u16)
}

fn locale_of_tag(tag: &str) -> Option<Locale> {
    let primary = tag.split('-').next()?;
    if primary.eq_ignore_ascii_case("de") {
        Some(Locale::De)
    } else if primary.eq_ignore_ascii_case("en") {
        Some(Locale::En)
    } else {
        None
    }
}

/// Returns the address of the page in `locale` under `public_url`, as the
/// invitation emails link it: `/datenschutz?lang=de` or `/privacy?lang=en`.
pub fn page_url(public_url: &str, locale: Locale) -> String {
    let base = public_url.trim_end_matches('/');
    match locale {
        Locale::De => format!("{base}/datenschutz?lang=de"),
        Locale::En => format!("{base}/privacy?lang=en"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(
        name: Option<&str>,
        address: Option<&str>,
        email: Option<&str>,
        officer: Option<&str>,
    ) -> OperatorSettings {
        OperatorSettings {
            name: name.map(str::to_owned),
            address: address.map(str::to_owned),
            email: email.map(str::to_owned),
            data_protection_officer: officer.map(str::to_owned),
        }
    }

    fn option_name(field: OperatorField) -> &'static str {
        match field {
            OperatorField::Name => "--operator-name",
            OperatorField::Address => "--operator-address",
            OperatorField::Email => "--operator-email",
            OperatorField::DataProtectionOfficer => "--data-protection-officer",
        }
    }

    #[test]
    fn nothing_set_is_no_operator() {
        assert_eq!(OperatorSettings::default().check(), Ok(None));
    }

    #[test]
    fn complete_details_are_trimmed() {
        let operator = settings(
            Some("  Praxis Weber  "),
            Some("Hauptstraße 1, 10115 Berlin"),
            Some(" datenschutz@praxis-weber.de "),
            Some("Dr. Jana Roth, dsb@praxis-weber.de"),
        )
        .check()
        .unwrap()
        .unwrap();
        assert_eq!(operator.name, "Praxis Weber");
        assert_eq!(
            operator.email.as_deref(),
            Some("datenschutz@praxis-weber.de")
        );
        assert_eq!(
            operator.data_protection_officer.as_deref(),
            Some("Dr. Jana Roth, dsb@praxis-weber.de")
        );
    }

    #[test]
    fn name_needs_a_contact() {
        let error = settings(Some("Praxis Weber"), None, None, Some("Dr. Roth"))
            .check()
            .unwrap_err();
        assert_eq!(error, OperatorError::MissingContact);
        assert_eq!(
            error.describe(option_name),
            "--operator-name needs --operator-address or --operator-email, \
             so that readers of the privacy page can contact the operator"
        );
        assert!(
            settings(
                Some("Praxis Weber"),
                Some("Hauptstraße 1, Berlin"),
                None,
                None
            )
            .check()
            .is_ok()
        );
        assert!(
            settings(Some("Praxis Weber"), None, Some("a@praxis.de"), None)
                .check()
                .is_ok()
        );
    }

    #[test]
    fn details_without_name_are_rejected() {
        for (given, input) in [
            (
                OperatorField::Address,
                settings(None, Some("Berlin"), None, None),
            ),
            (
                OperatorField::Email,
                settings(None, None, Some("a@praxis.de"), None),
            ),
            (
                OperatorField::DataProtectionOfficer,
                settings(None, None, None, Some("Dr. Roth")),
            ),
        ] {
            assert_eq!(input.check(), Err(OperatorError::MissingName { given }));
        }
        let message = OperatorError::MissingName {
            given: OperatorField::Email,
        }
        .describe(option_name);
        assert!(
            message.starts_with("--operator-email needs --operator-name"),
            "{message}"
        );
    }

    #[test]
    fn control_and_bidi_characters_are_rejected() {
        for text in [
            "Praxis\nWeber",
            "Praxis\rWeber",
            "Praxis\u{7}Weber",
            "Praxis\u{85}Weber",
            "Praxis \u{202E}rebeW",
            "Praxis \u{2066}Weber",
        ] {
            let error = check_value(OperatorField::Name, text).unwrap_err();
            assert!(error.contains("not allowed"), "{text:?}: {error}");
        }
        let error = check_value(OperatorField::Address, "Hauptstraße 1\n10115 Berlin").unwrap_err();
        assert!(error.contains("U+000A"), "{error}");
    }

    #[test]
    fn lengths_are_limited_per_field() {
        assert!(check_value(OperatorField::Name, &"x".repeat(MAX_NAME_CHARS)).is_ok());
        let error = check_value(OperatorField::Name, &"x".repeat(MAX_NAME_CHARS + 1)).unwrap_err();
        assert!(error.contains("1 to 200 characters"), "{error}");
        assert!(check_value(OperatorField::Address, &"ä".repeat(MAX_ADDRESS_CHARS)).is_ok());
        assert!(check_value(OperatorField::Address, &"ä".repeat(MAX_ADDRESS_CHARS + 1)).is_err());
        assert!(
            check_value(
                OperatorField::DataProtectionOfficer,
                &"x".repeat(MAX_OFFICER_CHARS + 1)
            )
            .is_err()
        );
        assert!(check_value(OperatorField::Name, "   ").is_err());
    }

    #[test]
    fn email_must_be_plain_address() {
        assert_eq!(
            check_value(OperatorField::Email, "kontakt@praxis.example").as_deref(),
            Ok("kontakt@praxis.example")
        );
        for text in [
            "Praxis <kontakt@praxis.example>",
            "kontakt",
            "kontakt@localhost",
            "kontakt@[192.0.2.1]",
            "\"a b\"@praxis.example",
            "kon\ntakt@praxis.example",
        ] {
            assert!(check_value(OperatorField::Email, text).is_err(), "{text:?}");
        }
        let long = format!("{}@praxis.example", "a".repeat(250));
        assert!(check_value(OperatorField::Email, &long).is_err());
    }

    #[test]
    fn query_language_wins() {
        assert_eq!(choose_locale(Some("lang=en"), Some("de-DE")), Locale::En);
        assert_eq!(
            choose_locale(Some("x=1&lang=de"), Some("en-GB")),
            Locale::De
        );
        assert_eq!(choose_locale(Some("lang=fr"), Some("en")), Locale::En);
    }

    #[test]
    fn accept_language_picks_first_german_or_english() {
        let cases = [
            (None, Locale::De),
            (Some(""), Locale::De),
            (Some("en-US,en;q=0.9"), Locale::En),
            (Some("de-AT,de;q=0.9,en;q=0.8"), Locale::De),
            (Some("fr-FR,fr;q=0.9,en;q=0.8,de;q=0.7"), Locale::En),
            (Some("fr, it"), Locale::De),
            (Some("de;q=0.5, en;q=0.8"), Locale::En),
            (Some("en;q=0, de;q=0.1"), Locale::De),
            (Some("EN-gb"), Locale::En),
            (Some("english"), Locale::De),
            (Some("en;q=abc, de"), Locale::De),
            (Some("*"), Locale::De),
        ];
        for (header, expected) in cases {
            assert_eq!(choose_locale(None, header), expected, "{header:?}");
        }
    }

    #[test]
    fn page_url_per_language() {
        assert_eq!(
            page_url("https://video.example.test/", Locale::De),
            "https://video.example.test/datenschutz?lang=de"
        );
        assert_eq!(
            page_url("https://video.example.test", Locale::En),
            "https://video.example.test/privacy?lang=en"
        );
    }
}
