// User-facing text in German and English, and the choice between them.
//
// Both dictionaries must have the same keys. Placeholders in braces, such as
// {date}, are replaced by `t`.

/** @typedef {'de' | 'en'} Locale */

const de = {
  // Join page: link check
  'join.title': 'Videosprechstunde',
  'join.checking': 'Ihr Link wird geprüft …',
  'link.missing':
    'Dieser Link ist unvollständig. Bitte öffnen Sie den Link aus Ihrer E-Mail noch einmal vollständig oder bitten Sie Ihre Praxis um einen neuen Link.',
  'link.invalid':
    'Dieser Link ist ungültig oder abgelaufen. Vielleicht wurde der Termin abgesagt oder der Link ist unvollständig. Bitte wenden Sie sich an Ihre Praxis.',
  'link.notYetOpen':
    'Dieser Link gilt erst am {date}. Bitte öffnen Sie ihn an diesem Tag noch einmal.',
  'link.expired':
    'Dieser Link war nur am {date} gültig. Wenn Sie einen neuen Termin brauchen, wenden Sie sich bitte an Ihre Praxis.',
  'link.notYetOpenZone':
    'Dieser Link gilt erst am {date} ({zone}). Bei Ihnen beginnt dieser Tag am {localDate} um {localTime}\u00a0Uhr. Bitte öffnen Sie ihn dann noch einmal.',
  'link.expiredZone':
    'Dieser Link war nur am {date} ({zone}) gültig, bei Ihnen also bis {localDate} um {localTime}\u00a0Uhr. Wenn Sie einen neuen Termin brauchen, wenden Sie sich bitte an Ihre Praxis.',
  // The zone in brackets after the room's date in the two texts above.
  'link.zonePlace': 'Ortszeit {place}',
  'link.zoneName': 'Zeitzone {name}',
  'connection.failed':
    'Die Verbindung zum Server ist nicht zustande gekommen. Bitte prüfen Sie Ihre Internetverbindung und versuchen Sie es erneut.',
  'connection.refused':
    'Der Videodienst hat die Verbindung gerade nicht angenommen, obwohl Ihre Internetverbindung funktioniert. Das kann an einer kurzen Störung liegen oder daran, dass in Ihrem Netzwerk kurz zuvor viele ungültige Links geöffnet wurden. Bitte warten Sie eine Minute und versuchen Sie es dann erneut.',
  'connection.reconnecting': 'Die Verbindung ist unterbrochen. Sie wird wiederhergestellt …',
  'connection.lost':
    'Die Verbindung zum Server ließ sich nicht wiederherstellen. Ihr Gespräch läuft weiter, solange die Verbindungen zu den anderen bestehen. Wer jetzt neu dazukommt, kann Sie aber nicht erreichen.',

  // Join page: form
  'form.heading': 'Bevor es losgeht',
  'form.intro':
    'Bitte prüfen Sie Bild und Ton und geben Sie Ihren Namen ein. Die anderen im Gespräch sehen diesen Namen.',
  'form.name': 'Ihr Name',
  'form.microphone': 'Mikrofon',
  'form.camera': 'Kamera',
  'form.join': 'Teilnehmen',
  'form.joining': 'Sie werden verbunden …',
  'form.previewLabel': 'Vorschau Ihrer Kamera',
  'device.microphoneNumber': 'Mikrofon {number}',
  'device.cameraNumber': 'Kamera {number}',
  'device.noMicrophone': 'Kein Mikrofon',
  'device.noCamera': 'Keine Kamera',
  'device.notAllowed': 'Zugriff nicht erlaubt',
  'preview.starting': 'Kamera wird gestartet …',
  'preview.cameraOff': 'Kamera aus',
  'preview.noVideo': 'Kein Kamerabild',
  'preview.audioOnly': 'Sie nehmen nur mit Ton teil.',
  'preview.noMedia': 'Sie nehmen ohne Kamera und Mikrofon teil. Sie können die anderen sehen und hören und im Chat schreiben.',
  'name.empty': 'Bitte geben Sie Ihren Namen ein.',
  'name.tooLong': 'Ihr Name darf höchstens 64 Zeichen lang sein.',
  'name.invalid':
    'Ihr Name enthält Zeichen, die hier nicht erlaubt sind. Bitte verwenden Sie Buchstaben, Ziffern und übliche Satzzeichen.',

  // Join page: camera and microphone errors
  'media.denied': 'Ihr Browser erlaubt dieser Seite den Zugriff auf Kamera und Mikrofon nicht.',
  'media.deniedHelp':
    'Tippen oder klicken Sie in der Adressleiste auf das Schloss- oder Kamerasymbol, erlauben Sie dort Kamera und Mikrofon für diese Seite und wählen Sie dann „Erneut versuchen“.',
  'media.cameraDenied': 'Ihr Browser erlaubt dieser Seite den Zugriff auf die Kamera nicht.',
  'media.cameraDeniedHelp':
    'Sie können nur mit Ton teilnehmen. Um die Kamera zu nutzen, tippen oder klicken Sie in der Adressleiste auf das Schloss- oder Kamerasymbol, erlauben Sie dort die Kamera für diese Seite und wählen Sie dann „Erneut versuchen“.',
  'media.busy': 'Kamera und Mikrofon werden gerade von einem anderen Programm verwendet.',
  'media.cameraBusy': 'Ihre Kamera wird gerade von einem anderen Programm verwendet.',
  'media.microphoneBusy': 'Ihr Mikrofon wird gerade von einem anderen Programm verwendet.',
  'media.busyHelp':
    'Bitte schließen Sie andere Programme oder Browserfenster, die Kamera oder Mikrofon nutzen, zum Beispiel einen anderen Videoanruf. Wählen Sie dann „Erneut versuchen“.',
  'media.noCamera': 'Es wurde keine Kamera gefunden.',
  'media.noMicrophone': 'Es wurde kein Mikrofon gefunden.',
  'media.noCameraHelp':
    'Sie können ohne Kamera teilnehmen – nur mit Ton – oder eine Kamera anschließen und es erneut versuchen.',
  'media.noDevices': 'Es wurden weder Kamera noch Mikrofon gefunden.',
  'media.noDevicesHelp':
    'Sie können trotzdem teilnehmen: Sie sehen und hören die anderen und können im Chat schreiben. Die anderen können Sie dann aber weder sehen noch hören.',
  'media.failed': 'Kamera und Mikrofon ließen sich nicht starten.',
  'media.failedHelp': 'Bitte versuchen Sie es erneut oder nehmen Sie ohne Kamera und Mikrofon teil.',
  'media.unsupported':
    'Dieser Browser unterstützt keine Videogespräche. Bitte öffnen Sie den Link in einer aktuellen Version von Chrome, Firefox, Safari oder Edge.',
  'media.insecure':
    'Kamera und Mikrofon sind nur über eine sichere Verbindung (https) verfügbar, diese Seite wurde aber über eine unsichere Verbindung (http) geöffnet. Bitte wenden Sie sich an Ihre Praxis: Die Adresse des Links muss mit „https://“ beginnen.',
  'media.switchFailed': 'Das Gerät ließ sich nicht starten.',

  // Join page: actions
  'action.retry': 'Erneut versuchen',
  'action.audioOnly': 'Nur mit Ton teilnehmen',
  'action.noMedia': 'Ohne Kamera und Mikrofon teilnehmen',
  'action.reload': 'Seite neu laden',
  'action.rejoin': 'Erneut teilnehmen',
  'action.close': 'Schließen',

  // Join page: server errors
  'join.roomFull':
    'Dieses Gespräch ist bereits voll: Es können höchstens 8 Personen gleichzeitig teilnehmen. Bitte wenden Sie sich an Ihre Praxis.',
  'join.outdated': 'Diese Seite ist nicht mehr aktuell. Bitte laden Sie die Seite neu.',
  'join.serverError':
    'Auf dem Server ist ein Fehler aufgetreten. Bitte versuchen Sie es in einem Moment erneut.',

  // Call view
  'call.selfName': '{name} (Sie)',
  'call.unknownPeer': 'Teilnehmende Person',
  'call.connecting': 'Verbindung wird aufgebaut …',
  'call.interrupted': 'Verbindung unterbrochen …',
  'call.relayRejected':
    'Keine Verbindung: Der Weiterleitungsserver hat den Zugang abgelehnt. Bitte laden Sie die Seite neu. Hilft das nicht, wenden Sie sich bitte an Ihre Praxis.',
  // A connection that has not come up for a while, and one that was lost and has not come back.
  'call.stalled':
    'Die Verbindung zu {name} kommt nicht zustande, vielleicht weil ein Netzwerk sie blockiert. Bitte verlassen Sie das Gespräch und wählen Sie dann „Erneut teilnehmen“. Hilft das nicht, wenden Sie sich bitte an Ihre Praxis.',
  'call.lost':
    'Die Verbindung zu {name} ist abgebrochen und ließ sich bisher nicht wiederherstellen. Bitte verlassen Sie das Gespräch und wählen Sie dann „Erneut teilnehmen“. Hilft das nicht, wenden Sie sich bitte an Ihre Praxis.',
  'call.waiting': 'Sie sind dem Gespräch beigetreten. Sobald weitere Personen dazukommen, sehen Sie sie hier.',
  // In place of 'call.waiting' once everyone who was there has left.
  'call.othersLeft': 'Alle anderen haben das Gespräch verlassen. Sobald wieder jemand dazukommt, sehen Sie die Person hier.',
  'call.peerJoined': '{name} ist dem Gespräch beigetreten.',
  'call.peerLeft': '{name} hat das Gespräch verlassen.',
  'call.remoteMicrophoneOff': 'Mikrofon aus',
  'call.remoteCameraOff': 'Kamera aus',
  'call.startPlayback': 'Ton und Bild starten',
  'call.controls': 'Steuerung',
  'call.microphone': 'Mikrofon',
  'call.microphoneMute': 'Mikrofon ausschalten',
  'call.microphoneUnmute': 'Mikrofon einschalten',
  'call.microphoneMuted': 'Ihr Mikrofon ist aus.',
  'call.noMicrophone': 'Ohne Mikrofon',
  'call.noCamera': 'Ohne Kamera',
  'call.camera': 'Kamera',
  'call.cameraOff': 'Kamera ausschalten',
  'call.cameraOn': 'Kamera einschalten',
  'call.devices': 'Geräte',
  'call.devicesButton': 'Geräte wählen',
  'call.devicesLabel': 'Mikrofon und Kamera wählen',
  'call.chat': 'Chat',
  'call.chatLabel': 'Chat öffnen oder schließen',
  'call.chatLabelUnreadOne': 'Chat öffnen, 1 neue Nachricht',
  'call.chatLabelUnreadMany': 'Chat öffnen, {count} neue Nachrichten',
  'call.leave': 'Verlassen',
  'call.leaveLabel': 'Gespräch verlassen',
  'call.fullscreen': 'Vollbild für {name}',
  'call.exitFullscreen': 'Vollbild beenden',
  'security.button': 'Sicherheitscode der Verbindung zu {name} anzeigen',
  'security.heading': 'Sicherheitscode der Verbindung zu {name}',
  'security.instructions':
    'Lesen Sie sich den Code gegenseitig vor und beenden Sie das Gespräch, wenn die beiden Codes nicht übereinstimmen.',
  'security.pending': 'Der Sicherheitscode ist noch nicht verfügbar, weil die Verbindung gerade aufgebaut wird.',
  'security.unsupported': 'Dieser Browser stellt den Sicherheitscode nicht bereit.',
  'chat.heading': 'Chat',
  'chat.note': 'Nachrichten gehen Ende-zu-Ende-verschlüsselt an die anderen im Gespräch und werden nicht gespeichert.',
  'chat.inputLabel': 'Nachricht schreiben',
  'chat.placeholder': 'Ihre Nachricht',
  'chat.send': 'Senden',
  'chat.tooLong': 'Nachrichten können höchstens {max} Zeichen lang sein.',
  'chat.shortened': 'Der eingefügte Text wurde deshalb gekürzt.',
  'chat.charactersLeft': 'Noch {count} Zeichen möglich',
  'chat.oneCharacterLeft': 'Noch 1 Zeichen möglich',
  'chat.noCharacterLeft': 'Keine weiteren Zeichen möglich',
  'chat.newMessage': 'Neue Chatnachricht von {name}: {text}',
  'left.message': 'Sie haben das Gespräch verlassen.',
  'footer.privacy': 'Datenschutzhinweise',

  // Practitioner console
  'console.title': 'Video-Räume',
  'console.tokenHeading': 'Zugang',
  'console.token': 'API-Token',
  'console.tokenHint': 'Das Token bleibt nur in diesem Browser-Tab gespeichert.',
  'console.createHeading': 'Neuen Raum anlegen',
  'console.date': 'Datum',
  'console.startTime': 'Uhrzeit (optional)',
  'console.timeZone': 'Zeitzone',
  'console.timeZoneBerlin': 'Berlin (Deutschland)',
  'console.timeZoneVienna': 'Wien (Österreich)',
  'console.timeZoneZurich': 'Zürich (Schweiz)',
  'console.roomTitle': 'Titel (optional)',
  'console.patientId': 'PatientInnen-Kennung (optional)',
  'console.patientIdHint':
    'Zum Beispiel die Nummer aus Ihrer Praxissoftware: bis zu 128 Zeichen, ohne Leerzeichen, Umlaute und ß.',
  'console.invitees': 'Einladungen (optional)',
  'console.inviteeName': 'Name',
  'console.inviteeEmail': 'E-Mail-Adresse',
  'console.inviteeLocale': 'Sprache',
  'console.addInvitee': 'Person hinzufügen',
  'console.removeInvitee': 'Entfernen',
  'console.removeInviteeLabel': 'Person {number} entfernen',
  'console.inviteeRow': 'Person {number}',
  'console.create': 'Raum anlegen',
  'console.created': 'Der Raum ist angelegt. Einladungslink:',
  'console.createdOutsideList':
    'Der {date} liegt außerhalb des Zeitraums der Übersicht oben. Damit der Raum dort erscheint, passen Sie „Von“ und „Bis“ an.',
  'console.copyLink': 'Link kopieren',
  'console.copied': 'Der Link ist in der Zwischenablage.',
  'console.copyFailed': 'Der Link ließ sich nicht kopieren. Bitte markieren und kopieren Sie ihn von Hand.',
  'console.startCall': 'Anruf starten',
  'console.startCallLabel': 'Anruf im Raum vom {room} in einem kleinen Fenster starten',
  'console.popupBlocked': 'Der Browser hat das Fenster blockiert. Bitte erlauben Sie Pop-ups für diese Seite.',
  'console.listHeading': 'Übersicht',
  'console.listIntro':
    'Die Übersicht zeigt jeden Raum mit Status, Gesprächsdauer und dem Stand der Einladungs-E-Mails an Ihre PatientInnen. Uhrzeiten gelten in der Zeitzone des Raums. Wenn diese von der Zeitzone Ihres Browsers abweicht, steht sie in Klammern in der Spalte „Datum“.',
  'console.from': 'Von',
  'console.to': 'Bis',
  'console.refresh': 'Aktualisieren',
  'console.empty': 'In diesem Zeitraum gibt es keine Räume.',
  'console.loading': 'Räume werden geladen …',
  'console.columnDate': 'Datum',
  'console.columnRoom': 'Raum',
  'console.columnStatus': 'Status',
  'console.columnInvitees': 'Einladungen',
  'console.columnLink': 'Link',
  'console.columnActions': 'Aktionen',
  'console.startTimeValue': '{time} Uhr',
  'console.roomTimeZone': '({zone})',
  'zone.berlin': 'Berlin',
  'zone.vienna': 'Wien',
  'zone.zurich': 'Zürich',
  'console.patientIdLabel': 'PatientInnen-Kennung:',
  'console.statusPlanned': 'Geplant',
  'console.statusToday': 'Heute',
  'console.statusHeld': 'Stattgefunden',
  'console.statusNotHeld': 'Nicht stattgefunden',
  'console.statusUnknown': 'Unbekannt',
  'console.durationLabel': 'Gesprächsdauer:',
  'console.durationNone': '–',
  'console.durationUnderMinute': 'unter 1 Min.',
  'console.durationMinutes': '{minutes} Min.',
  'console.durationHours': '{hours} Std.',
  'console.durationHoursMinutes': '{hours} Std. {minutes} Min.',
  'console.noInvitees': 'Keine Einladungen',
  'console.inviteeEmailErased': 'E-Mail-Adresse nach dem Termin gelöscht',
  // A no-break space keeps "Uhr" on the line of its time.
  'console.inviteeSent': 'E-Mail gesendet um {time}\u00a0Uhr',
  'console.inviteeSentNoTime': 'E-Mail gesendet',
  'console.inviteeSentOn': 'E-Mail gesendet am {date} um {time}\u00a0Uhr',
  'console.inviteePending': 'E-Mail ausstehend',
  'console.inviteeSending': 'E-Mail wird gerade gesendet',
  'console.inviteeScheduled': 'E-Mail wird am Termintag verschickt',
  'console.inviteeRetrying': 'E-Mail ausstehend (letzter Versuch fehlgeschlagen)',
  'console.inviteeFailed': 'E-Mail fehlgeschlagen',
  'console.inviteeFailureDetails': 'Details: {reason}',
  'console.resendOne': 'E-Mail erneut senden',
  'console.resendMany': 'E-Mails erneut senden',
  'console.resendLabelOne': 'Einladungs-E-Mail für den Raum vom {room} erneut senden',
  'console.resendLabelMany': 'Einladungs-E-Mails für den Raum vom {room} erneut senden',
  // The four texts above before any email of the room went out or failed.
  'console.sendNowOne': 'E-Mail jetzt senden',
  'console.sendNowMany': 'E-Mails jetzt senden',
  'console.sendNowLabelOne': 'Einladungs-E-Mail für den Raum vom {room} jetzt senden',
  'console.sendNowLabelMany': 'Einladungs-E-Mails für den Raum vom {room} jetzt senden',
  'console.resendingOne': 'Die E-Mail wird gesendet …',
  'console.resendingMany': 'Die E-Mails werden gesendet …',
  'console.resendDoneOne': 'Die Einladungs-E-Mail wurde gesendet.',
  'console.resendDoneMany': 'Die Einladungs-E-Mails wurden gesendet.',
  'console.resendBusyOne':
    'Die Einladungs-E-Mail wird gerade schon gesendet, etwa aus einem anderen Fenster. Mit „Aktualisieren“ sehen Sie gleich das Ergebnis.',
  'console.resendBusyMany':
    'Ein Teil der Einladungs-E-Mails wird gerade schon gesendet, etwa aus einem anderen Fenster. Mit „Aktualisieren“ sehen Sie gleich das Ergebnis.',
  'console.resendFailedOne': 'Die Einladungs-E-Mail ließ sich nicht senden. Den Grund finden Sie bei der Einladung.',
  'console.resendPartlyMany':
    'Nicht alle Einladungs-E-Mails ließen sich senden. Den Grund finden Sie jeweils bei der Einladung.',
  'console.resendNotRoomDay':
    'Einladungen lassen sich nur am Tag des Termins erneut senden, hier also am {date}.',
  'console.resendNoInvitees':
    'Zu diesem Raum ist niemand mit E-Mail-Adresse eingeladen. Es wurde keine E-Mail gesendet.',
  'console.resendNetworkErrorOne':
    'Der Server ist nicht erreichbar. Daher ist unklar, ob die E-Mail gesendet wurde. Bitte prüfen Sie Ihre Internetverbindung und aktualisieren Sie dann die Übersicht.',
  'console.resendNetworkErrorMany':
    'Der Server ist nicht erreichbar. Daher ist unklar, ob die E-Mails gesendet wurden. Bitte prüfen Sie Ihre Internetverbindung und aktualisieren Sie dann die Übersicht.',
  'console.resendServerErrorOne':
    'Der Server hat mit einem Fehler geantwortet (HTTP {status}). Daher ist unklar, ob die E-Mail gesendet wurde. Bitte aktualisieren Sie die Übersicht und prüfen Sie dort den Versandstatus, bevor Sie es erneut versuchen.',
  'console.resendServerErrorMany':
    'Der Server hat mit einem Fehler geantwortet (HTTP {status}). Daher ist unklar, ob die E-Mails gesendet wurden. Bitte aktualisieren Sie die Übersicht und prüfen Sie dort den Versandstatus, bevor Sie es erneut versuchen.',
  'console.delete': 'Löschen',
  'console.deleteLabel': 'Raum vom {room} löschen',
  'console.copyLinkLabel': 'Link des Raums vom {room} kopieren',
  // {room} in the four labels above: the date, and the start time and title where the room has them.
  'console.roomDateTime': '{date}, {time} Uhr',
  'console.roomWithTitle': '{room}, „{title}“',
  'console.confirmDelete':
    'Diesen Raum wirklich löschen? Der Link funktioniert danach nicht mehr. Eingeladene Personen werden darüber nicht benachrichtigt.',
  'console.noTitle': '(ohne Titel)',
  'console.inviteeLimit': 'Es können höchstens {count} Personen eingeladen werden.',
  'console.missingToken': 'Bitte geben Sie zuerst das API-Token ein.',
  'console.unauthorized': 'Das API-Token wurde nicht akzeptiert. Bitte prüfen Sie es.',
  'console.tooManyAttempts':
    'Zu viele Versuche mit einem falschen API-Token von diesem Rechner. Bitte warten Sie eine Minute und versuchen Sie es dann erneut.',
  'console.checkField': 'Bitte prüfen Sie das Feld „{label}“.',
  'console.checkInput': 'Bitte prüfen Sie Ihre Angaben.',
  'console.checkRange': 'Bitte prüfen Sie den Zeitraum bei „Von“ und „Bis“.',
  'console.fieldDate': 'Datum',
  'console.fieldStartTime': 'Uhrzeit',
  'console.fieldTimeZone': 'Zeitzone',
  'console.fieldTitle': 'Titel',
  'console.fieldPatientId': 'PatientInnen-Kennung',
  'console.fieldInvitees': 'Einladungen',
  'console.fieldInviteeName': 'Name (Person {number})',
  'console.fieldInviteeEmail': 'E-Mail-Adresse (Person {number})',
  'console.fieldInviteeLocale': 'Sprache (Person {number})',
  'console.fieldFrom': 'Von',
  'console.fieldTo': 'Bis',
  'console.hintDateInvalid': 'Bitte wählen Sie ein gültiges Datum.',
  'console.hintDatePast': 'Das Datum liegt in der Vergangenheit. Bitte wählen Sie heute oder einen späteren Tag.',
  'console.hintDateTooFar': 'Ein Raum kann höchstens {days} Tage im Voraus angelegt werden.',
  'console.hintStartTime': 'Bitte geben Sie die Uhrzeit in Stunden und Minuten an, zum Beispiel 09:30.',
  'console.hintStartTimeSkipped':
    'Die Uhrzeit {time}\u00a0Uhr gibt es am {date} in {zone} nicht, weil die Uhren dort in dieser Nacht für die Sommerzeit von {from} auf {to}\u00a0Uhr vorgestellt werden. Bitte wählen Sie eine andere Uhrzeit.',
  'console.hintStartTimePassed':
    'Diese Uhrzeit ist heute schon vorbei: In {zone} ist es jetzt {now} Uhr. Die Einladung nennt die Uhrzeit so, wie sie hier eingetragen ist.',
  'console.hintTimeZone': 'Bitte wählen Sie eine Zeitzone aus der Liste.',
  'console.hintTitle': 'Der Titel darf höchstens {max} Zeichen lang sein.',
  'console.hintTitleControl':
    'Der Titel darf keine Tabulatoren, Zeilenumbrüche oder anderen Steuerzeichen enthalten. Solche Zeichen geraten oft beim Kopieren aus einer Tabelle in das Feld. Bitte ersetzen Sie sie durch Leerzeichen.',
  'console.hintPatientId':
    'Die Kennung darf 1 bis {max} Zeichen lang sein: Buchstaben von A bis Z ohne Umlaute und ß, Ziffern und Satzzeichen, aber keine Leerzeichen.',
  'console.hintInviteeName':
    'Bitte geben Sie den Namen der Person ein, die die Einladung erhält: höchstens {max} Zeichen, davon mindestens ein sichtbares.',
  'console.hintInviteeNameControl':
    'Der Name darf keine Tabulatoren, Zeilenumbrüche oder anderen Steuerzeichen enthalten. Solche Zeichen geraten oft beim Kopieren aus einer Tabelle in das Feld. Bitte ersetzen Sie sie durch Leerzeichen.',
  'console.hintInviteeNameBidi':
    'Der Name enthält ein unsichtbares Zeichen, das die Schreibrichtung steuert. Solche Zeichen ändern die Reihenfolge, in der die Buchstaben erscheinen, sodass der Name anders zu lesen wäre, als er eingegeben wurde. Bitte tippen Sie den Namen von Hand ein, statt ihn einzufügen.',
  'console.hintInviteeEmail': 'Bitte geben Sie eine vollständige E-Mail-Adresse ein, zum Beispiel name@beispiel.de.',
  'console.hintInviteeEmailNonAscii':
    'An E-Mail-Adressen mit Umlauten, ß, Akzenten oder anderen Zeichen außerhalb des englischen Alphabets kann der Dienst keine E-Mails senden. Bitte fragen Sie die Person nach einer Adresse ohne solche Zeichen.',
  'console.hintInviteeEmailRepeated':
    'Diese E-Mail-Adresse ist schon bei Person {number} eingetragen. Bitte tragen Sie jede Adresse nur einmal ein. Teilen sich mehrere Personen eine Adresse, genügt eine Einladung: Alle nehmen über denselben Link teil.',
  'console.hintRangeOrder': 'Das Datum bei „Von“ liegt nach dem Datum bei „Bis“.',
  'console.hintRangeLength': 'Der Zeitraum darf höchstens {days} Tage umfassen.',
  'console.payloadTooLarge': 'Die Angaben sind zu umfangreich. Bitte kürzen Sie den Titel oder entfernen Sie Einladungen.',
  'console.roomNotFound': 'Diesen Raum gibt es nicht mehr. Die Übersicht wird aktualisiert.',
  'console.requestFailed':
    'Der Server hat die Anfrage abgelehnt (HTTP {status}). Bitte laden Sie die Seite neu und versuchen Sie es erneut.',
  'console.serverUnavailable': 'Der Server ist gerade nicht erreichbar. Bitte versuchen Sie es später erneut.',
  'console.serverError':
    'Auf dem Server ist ein Fehler aufgetreten. Bitte versuchen Sie es in einem Moment erneut. Tritt der Fehler wieder auf, wenden Sie sich bitte an den technischen Support.',
  'console.networkError':
    'Der Server ist nicht erreichbar. Bitte prüfen Sie Ihre Internetverbindung und versuchen Sie es erneut.',
  'console.errorDetails': 'Details für den technischen Support: {message}',
  'language.de': 'Deutsch',
  'language.en': 'Englisch',
};

/** @type {Record<keyof typeof de, string>} */
const en = {
  'join.title': 'Video consultation',
  'join.checking': 'Checking your link …',
  'link.missing':
    'This link is incomplete. Please open the complete link from your email again, or ask your practice for a new link.',
  'link.invalid':
    'This link is invalid or has expired. The appointment may have been cancelled, or the link may be incomplete. Please contact your practice.',
  'link.notYetOpen': 'This link will work only on {date}. Please open it again on that day.',
  'link.expired':
    'This link was valid on {date} only. If you need a new appointment, please contact your practice.',
  'link.notYetOpenZone':
    'This link will work only on {date} ({zone}). For you, that day begins on {localDate} at {localTime}. Please open it again then.',
  'link.expiredZone':
    'This link was valid on {date} only ({zone}), which for you was until {localDate} at {localTime}. If you need a new appointment, please contact your practice.',
  'link.zonePlace': '{place} time',
  'link.zoneName': 'time zone {name}',
  'connection.failed':
    'Could not connect to the server. Please check your internet connection and try again.',
  'connection.refused':
    'The video service did not accept the connection just now, although your internet connection works. This can be a brief disruption, or many invalid links were opened in your network shortly before. Please wait a minute and try again.',
  'connection.reconnecting': 'The connection was interrupted. Reconnecting …',
  'connection.lost':
    'The connection to the server could not be restored. Your call continues as long as the connections to the others last, but anyone who joins now cannot reach you.',

  'form.heading': 'Before you join',
  'form.intro':
    'Please check your picture and sound and enter your name. The others in the call will see this name.',
  'form.name': 'Your name',
  'form.microphone': 'Microphone',
  'form.camera': 'Camera',
  'form.join': 'Join',
  'form.joining': 'Connecting …',
  'form.previewLabel': 'Preview of your camera',
  'device.microphoneNumber': 'Microphone {number}',
  'device.cameraNumber': 'Camera {number}',
  'device.noMicrophone': 'No microphone',
  'device.noCamera': 'No camera',
  'device.notAllowed': 'Access not allowed',
  'preview.starting': 'Starting camera …',
  'preview.cameraOff': 'Camera off',
  'preview.noVideo': 'No camera picture',
  'preview.audioOnly': 'You are joining with audio only.',
  'preview.noMedia': 'You are joining without camera and microphone. You can see and hear the others and write in the chat.',
  'name.empty': 'Please enter your name.',
  'name.tooLong': 'Your name can be at most 64 characters long.',
  'name.invalid':
    'Your name contains characters that are not allowed here. Please use letters, digits and common punctuation.',

  'media.denied': 'Your browser does not allow this page to use your camera and microphone.',
  'media.deniedHelp':
    'Tap or click the lock or camera icon in the address bar, allow camera and microphone for this page there, then choose “Try again”.',
  'media.cameraDenied': 'Your browser does not allow this page to use your camera.',
  'media.cameraDeniedHelp':
    'You can join with audio only. To use your camera, tap or click the lock or camera icon in the address bar, allow the camera for this page there, then choose “Try again”.',
  'media.busy': 'Your camera and microphone are in use by another program.',
  'media.cameraBusy': 'Your camera is in use by another program.',
  'media.microphoneBusy': 'Your microphone is in use by another program.',
  'media.busyHelp':
    'Please close other programs or browser windows that use the camera or microphone, for example another video call. Then choose “Try again”.',
  'media.noCamera': 'No camera was found.',
  'media.noMicrophone': 'No microphone was found.',
  'media.noCameraHelp': 'You can join without a camera – with sound only – or connect a camera and try again.',
  'media.noDevices': 'No camera and no microphone were found.',
  'media.noDevicesHelp':
    'You can still join: you will see and hear the others and can write in the chat, but they will neither see nor hear you.',
  'media.failed': 'Your camera and microphone could not be started.',
  'media.failedHelp': 'Please try again, or join without camera and microphone.',
  'media.unsupported':
    'This browser does not support video calls. Please open the link in a current version of Chrome, Firefox, Safari or Edge.',
  'media.insecure':
    'Camera and microphone are available only over a secure connection (https), but this page was opened over an insecure connection (http). Please contact your practice: the address of the link must start with “https://”.',
  'media.switchFailed': 'The device could not be started.',

  'action.retry': 'Try again',
  'action.audioOnly': 'Join with audio only',
  'action.noMedia': 'Join without camera and microphone',
  'action.reload': 'Reload page',
  'action.rejoin': 'Join again',
  'action.close': 'Close',

  'join.roomFull':
    'This call is already full: at most 8 people can take part at the same time. Please contact your practice.',
  'join.outdated': 'This page is out of date. Please reload the page.',
  'join.serverError': 'An error occurred on the server. Please try again in a moment.',

  'call.selfName': '{name} (you)',
  'call.unknownPeer': 'Participant',
  'call.connecting': 'Connecting …',
  'call.interrupted': 'Connection interrupted …',
  'call.relayRejected':
    'No connection: the relay server refused access. Please reload the page. If that does not help, please contact your practice.',
  'call.stalled':
    'The connection to {name} cannot be established, perhaps because a network blocks it. Please leave the call, then choose “Join again”. If that does not help, please contact your practice.',
  'call.lost':
    'The connection to {name} was lost and has not been restored yet. Please leave the call, then choose “Join again”. If that does not help, please contact your practice.',
  'call.waiting': 'You have joined the call. As soon as others join, you will see them here.',
  'call.othersLeft': 'Everyone else has left the call. As soon as someone joins again, you will see them here.',
  'call.peerJoined': '{name} has joined the call.',
  'call.peerLeft': '{name} has left the call.',
  'call.remoteMicrophoneOff': 'Microphone off',
  'call.remoteCameraOff': 'Camera off',
  'call.startPlayback': 'Start sound and picture',
  'call.controls': 'Controls',
  'call.microphone': 'Microphone',
  'call.microphoneMute': 'Turn microphone off',
  'call.microphoneUnmute': 'Turn microphone on',
  'call.microphoneMuted': 'Your microphone is off.',
  'call.noMicrophone': 'No microphone',
  'call.noCamera': 'No camera',
  'call.camera': 'Camera',
  'call.cameraOff': 'Turn camera off',
  'call.cameraOn': 'Turn camera on',
  'call.devices': 'Devices',
  'call.devicesButton': 'Choose devices',
  'call.devicesLabel': 'Choose microphone and camera',
  'call.chat': 'Chat',
  'call.chatLabel': 'Open or close the chat',
  'call.chatLabelUnreadOne': 'Open the chat, 1 new message',
  'call.chatLabelUnreadMany': 'Open the chat, {count} new messages',
  'call.leave': 'Leave',
  'call.leaveLabel': 'Leave the call',
  'call.fullscreen': 'Full screen for {name}',
  'call.exitFullscreen': 'Exit full screen',
  'security.button': 'Show the security code of the connection to {name}',
  'security.heading': 'Security code of the connection to {name}',
  'security.instructions': 'Read the code aloud to each other, and end the call if the two codes do not match.',
  'security.pending': 'The security code is not available yet because the connection is being set up.',
  'security.unsupported': 'This browser does not provide the security code.',
  'chat.heading': 'Chat',
  'chat.note': 'Messages are sent end-to-end encrypted to the others in the call and are not stored.',
  'chat.inputLabel': 'Write a message',
  'chat.placeholder': 'Your message',
  'chat.send': 'Send',
  'chat.tooLong': 'Messages can be at most {max} characters long.',
  'chat.shortened': 'The pasted text was therefore shortened.',
  'chat.charactersLeft': '{count} characters left',
  'chat.oneCharacterLeft': '1 character left',
  'chat.noCharacterLeft': 'No characters left',
  'chat.newMessage': 'New chat message from {name}: {text}',
  'left.message': 'You have left the call.',
  'footer.privacy': 'Privacy notice',

  'console.title': 'Video rooms',
  'console.tokenHeading': 'Access',
  'console.token': 'API token',
  'console.tokenHint': 'The token is kept only in this browser tab.',
  'console.createHeading': 'Create a room',
  'console.date': 'Date',
  'console.startTime': 'Time (optional)',
  'console.timeZone': 'Time zone',
  'console.timeZoneBerlin': 'Berlin (Germany)',
  'console.timeZoneVienna': 'Vienna (Austria)',
  'console.timeZoneZurich': 'Zurich (Switzerland)',
  'console.roomTitle': 'Title (optional)',
  'console.patientId': 'Patient ID (optional)',
  'console.patientIdHint':
    'For example the number from your practice software: up to 128 characters, without spaces or accented letters.',
  'console.invitees': 'Invitations (optional)',
  'console.inviteeName': 'Name',
  'console.inviteeEmail': 'Email address',
  'console.inviteeLocale': 'Language',
  'console.addInvitee': 'Add person',
  'console.removeInvitee': 'Remove',
  'console.removeInviteeLabel': 'Remove person {number}',
  'console.inviteeRow': 'Person {number}',
  'console.create': 'Create room',
  'console.created': 'The room was created. Invitation link:',
  'console.createdOutsideList':
    '{date} lies outside the period of the overview above. To see the room there, change “From” and “To”.',
  'console.copyLink': 'Copy link',
  'console.copied': 'The link is on the clipboard.',
  'console.copyFailed': 'Could not copy the link. Please select and copy it by hand.',
  'console.startCall': 'Start call',
  'console.startCallLabel': 'Start the call in the room of {room} in a small window',
  'console.popupBlocked': 'The browser blocked the window. Please allow pop-ups for this page.',
  'console.listHeading': 'Overview',
  'console.listIntro':
    'The overview shows each room with its status, the call time and the state of the invitation emails to your patients. Times are in the room’s time zone. When it differs from your browser’s time zone, it is named in brackets in the “Date” column.',
  'console.from': 'From',
  'console.to': 'To',
  'console.refresh': 'Refresh',
  'console.empty': 'There are no rooms in this period.',
  'console.loading': 'Loading rooms …',
  'console.columnDate': 'Date',
  'console.columnRoom': 'Room',
  'console.columnStatus': 'Status',
  'console.columnInvitees': 'Invitations',
  'console.columnLink': 'Link',
  'console.columnActions': 'Actions',
  'console.startTimeValue': '{time}',
  'console.roomTimeZone': '({zone})',
  'zone.berlin': 'Berlin',
  'zone.vienna': 'Vienna',
  'zone.zurich': 'Zurich',
  'console.patientIdLabel': 'Patient ID:',
  'console.statusPlanned': 'Planned',
  'console.statusToday': 'Today',
  'console.statusHeld': 'Held',
  'console.statusNotHeld': 'Not held',
  'console.statusUnknown': 'Unknown',
  'console.durationLabel': 'Call time:',
  'console.durationNone': '–',
  'console.durationUnderMinute': 'under 1 min',
  'console.durationMinutes': '{minutes} min',
  'console.durationHours': '{hours} h',
  'console.durationHoursMinutes': '{hours} h {minutes} min',
  'console.noInvitees': 'No invitations',
  'console.inviteeEmailErased': 'Email address deleted after the appointment',
  'console.inviteeSent': 'Email sent at {time}',
  'console.inviteeSentNoTime': 'Email sent',
  'console.inviteeSentOn': 'Email sent on {date} at {time}',
  'console.inviteePending': 'Email pending',
  'console.inviteeSending': 'Email being sent',
  'console.inviteeScheduled': 'Email goes out on the appointment day',
  'console.inviteeRetrying': 'Email pending (last attempt failed)',
  'console.inviteeFailed': 'Email failed',
  'console.inviteeFailureDetails': 'Details: {reason}',
  'console.resendOne': 'Resend email',
  'console.resendMany': 'Resend emails',
  'console.resendLabelOne': 'Resend the invitation email of the room of {room}',
  'console.resendLabelMany': 'Resend the invitation emails of the room of {room}',
  'console.sendNowOne': 'Send email now',
  'console.sendNowMany': 'Send emails now',
  'console.sendNowLabelOne': 'Send the invitation email of the room of {room} now',
  'console.sendNowLabelMany': 'Send the invitation emails of the room of {room} now',
  'console.resendingOne': 'Sending the email …',
  'console.resendingMany': 'Sending the emails …',
  'console.resendDoneOne': 'The invitation email has been sent.',
  'console.resendDoneMany': 'The invitation emails have been sent.',
  'console.resendBusyOne':
    'The invitation email is already being sent, for example from another window. Choose “Refresh” in a moment to see the result.',
  'console.resendBusyMany':
    'Some of the invitation emails are already being sent, for example from another window. Choose “Refresh” in a moment to see the result.',
  'console.resendFailedOne': 'The invitation email could not be sent. The reason is shown with the invitation.',
  'console.resendPartlyMany': 'Not all invitation emails could be sent. The reason is shown with each invitation.',
  'console.resendNotRoomDay': 'Invitations can be resent only on the room’s day, which for this room is {date}.',
  'console.resendNoInvitees': 'Nobody with an email address is invited to this room, so no email was sent.',
  'console.resendNetworkErrorOne':
    'The server cannot be reached, so it is unclear whether the email was sent. Please check your internet connection, then refresh the overview.',
  'console.resendNetworkErrorMany':
    'The server cannot be reached, so it is unclear whether the emails were sent. Please check your internet connection, then refresh the overview.',
  'console.resendServerErrorOne':
    'The server answered with an error (HTTP {status}), so it is unclear whether the email was sent. Please refresh the overview and check the sending status there before you try again.',
  'console.resendServerErrorMany':
    'The server answered with an error (HTTP {status}), so it is unclear whether the emails were sent. Please refresh the overview and check the sending status there before you try again.',
  'console.delete': 'Delete',
  'console.deleteLabel': 'Delete the room of {room}',
  'console.copyLinkLabel': 'Copy the link of the room of {room}',
  'console.roomDateTime': '{date}, {time}',
  'console.roomWithTitle': '{room}, “{title}”',
  'console.confirmDelete':
    'Really delete this room? The link will stop working. Invited people will not be notified of this.',
  'console.noTitle': '(no title)',
  'console.inviteeLimit': 'At most {count} people can be invited.',
  'console.missingToken': 'Please enter the API token first.',
  'console.unauthorized': 'The API token was not accepted. Please check it.',
  'console.tooManyAttempts': 'Too many attempts with a wrong API token from this computer. Please wait a minute and try again.',
  'console.checkField': 'Please check the field “{label}”.',
  'console.checkInput': 'Please check your entries.',
  'console.checkRange': 'Please check the period in “From” and “To”.',
  'console.fieldDate': 'Date',
  'console.fieldStartTime': 'Time',
  'console.fieldTimeZone': 'Time zone',
  'console.fieldTitle': 'Title',
  'console.fieldPatientId': 'Patient ID',
  'console.fieldInvitees': 'Invitations',
  'console.fieldInviteeName': 'Name (person {number})',
  'console.fieldInviteeEmail': 'Email address (person {number})',
  'console.fieldInviteeLocale': 'Language (person {number})',
  'console.fieldFrom': 'From',
  'console.fieldTo': 'To',
  'console.hintDateInvalid': 'Please choose a valid date.',
  'console.hintDatePast': 'The date is in the past. Please choose today or a later day.',
  'console.hintDateTooFar': 'A room can be created at most {days} days ahead.',
  'console.hintStartTime': 'Please enter the time in hours and minutes, for example 09:30.',
  'console.hintStartTimeSkipped':
    '{time} does not exist on {date} in {zone}, because the clocks there go forward from {from} to {to} that night for summer time. Please choose another time.',
  'console.hintStartTimePassed':
    'This time has already passed today: it is now {now} in {zone}. The invitation gives the time as entered here.',
  'console.hintTimeZone': 'Please choose a time zone from the list.',
  'console.hintTitle': 'The title can be at most {max} characters long.',
  'console.hintTitleControl':
    'The title cannot contain tabs, line breaks or other control characters. Such characters often get into the field when text is copied from a table. Please replace them with spaces.',
  'console.hintPatientId':
    'The ID must be 1 to {max} characters long: letters from A to Z without accents, digits and punctuation, but no spaces.',
  'console.hintInviteeName':
    'Please enter the name of the person who receives the invitation: at most {max} characters, at least one of them visible.',
  'console.hintInviteeNameControl':
    'The name cannot contain tabs, line breaks or other control characters. Such characters often get into the field when text is copied from a table. Please replace them with spaces.',
  'console.hintInviteeNameBidi':
    'The name contains an invisible character that controls the writing direction. Such characters change the order in which the letters appear, so the name would read differently from how it was entered. Please type the name by hand instead of pasting it.',
  'console.hintInviteeEmail': 'Please enter a complete email address, for example name@example.com.',
  'console.hintInviteeEmailNonAscii':
    'The service cannot send emails to addresses with umlauts, ß, accents or other characters outside the English alphabet. Please ask the person for an address without such characters.',
  'console.hintInviteeEmailRepeated':
    'This email address is already entered for person {number}. Please enter each address only once. If several people share an address, one invitation is enough: everyone joins through the same link.',
  'console.hintRangeOrder': 'The date in “From” is after the date in “To”.',
  'console.hintRangeLength': 'The period can be at most {days} days long.',
  'console.payloadTooLarge': 'The entries are too long. Please shorten the title or remove invitations.',
  'console.roomNotFound': 'This room no longer exists. The overview is being refreshed.',
  'console.requestFailed': 'The server rejected the request (HTTP {status}). Please reload the page and try again.',
  'console.serverUnavailable': 'The server is not available right now. Please try again later.',
  'console.serverError':
    'An error occurred on the server. Please try again in a moment. If the error occurs again, please contact technical support.',
  'console.networkError': 'The server cannot be reached. Please check your internet connection and try again.',
  'console.errorDetails': 'Details for technical support: {message}',
  'language.de': 'German',
  'language.en': 'English',
};

/** @typedef {keyof typeof de} MessageKey */

/** @type {Record<Locale, Record<MessageKey, string>>} */
export const dictionaries = { de, en };

/**
 * Chooses the page language from the browser's preferred languages.
 *
 * The first entry that starts with "de" or "en" decides. A browser that
 * prefers neither gets German, the language of most visitors.
 *
 * @param {readonly string[]} [languages]
 * @returns {Locale}
 */
export function detectLocale(languages = navigator.languages) {
  const list = languages && languages.length > 0 ? languages : [navigator.language || ''];
  for (const tag of list) {
    const lower = tag.toLowerCase();
    if (lower === 'de' || lower.startsWith('de-')) return 'de';
    if (lower === 'en' || lower.startsWith('en-')) return 'en';
  }
  return 'de';
}

/** @type {Locale} */
export const locale = detectLocale();

/**
 * Returns the text for `key` in the page language, with each {name}
 * placeholder replaced by `params[name]`.
 *
 * @param {MessageKey} key
 * @param {Record<string, string | number>} [params]
 * @returns {string}
 */
export function t(key, params) {
  const text = dictionaries[locale][key] ?? dictionaries.de[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

const englishMonths = [
  'January', 'February', 'March', 'April', 'May', 'June',
  'July', 'August', 'September', 'October', 'November', 'December',
];

/**
 * Formats a calendar date given as "YYYY-MM-DD" for the page language:
 * "13.12.2026" in German, "13 December 2026" in English.
 *
 * The string is split rather than parsed with `Date`, so the visitor's time
 * zone cannot shift the day. A string of another shape is returned unchanged.
 *
 * @param {string} isoDate
 * @param {Locale} [targetLocale]
 * @returns {string}
 */
export function formatDate(isoDate, targetLocale = locale) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(isoDate);
  if (!match) return isoDate;
  const [, year, month, day] = match;
  const monthIndex = Number(month) - 1;
  if (monthIndex < 0 || monthIndex > 11) return isoDate;
  if (targetLocale === 'de') return `${day}.${month}.${year}`;
  return `${Number(day)} ${englishMonths[monthIndex]} ${year}`;
}

/**
 * Sets `<html lang>` and fills the static text of the page.
 *
 * `data-i18n` sets the text content, and `data-i18n-aria-label`,
 * `data-i18n-placeholder` and `data-i18n-title` set those attributes.
 *
 * @param {ParentNode} [root]
 */
export function applyTranslations(root = document) {
  document.documentElement.lang = locale;
  for (const element of root.querySelectorAll('[data-i18n]')) {
    element.textContent = t(/** @type {MessageKey} */ (element.getAttribute('data-i18n')));
  }
  for (const attribute of ['aria-label', 'placeholder', 'title']) {
    for (const element of root.querySelectorAll(`[data-i18n-${attribute}]`)) {
      const key = /** @type {MessageKey} */ (element.getAttribute(`data-i18n-${attribute}`));
      element.setAttribute(attribute, t(key));
    }
  }
}

/** @type {Record<string, MessageKey>} Text keys of the readable names of the zones in the console's room form. */
const TIME_ZONE_NAMES = {
  'Europe/Berlin': 'zone.berlin',
  'Europe/Vienna': 'zone.vienna',
  'Europe/Zurich': 'zone.zurich',
};

/**
 * Returns the name under which the pages show a room's time zone, or null
 * when it is the browser's zone, whose times need no label. The zones of the
 * console's room form get a city name, such as "Wien", and others their IANA
 * name.
 *
 * @param {string} timeZone IANA name of the room's zone
 * @param {string} [browserZone] IANA name of the browser's zone
 * @returns {string | null}
 */
export function describeRoomTimeZone(timeZone, browserZone = new Intl.DateTimeFormat().resolvedOptions().timeZone) {
  if (!timeZone) return null;
  // Intl resolves links such as "Asia/Calcutta" and "Asia/Kolkata" to the
  // same name, so comparing resolved names finds the same zone under both.
  if (browserZone && resolveTimeZone(timeZone) === resolveTimeZone(browserZone)) return null;
  const key = TIME_ZONE_NAMES[timeZone];
  return key ? t(key) : timeZone;
}

/** Areas of the tz database whose zone names end in a place, as in America/New_York. */
const PLACE_AREAS = new Set(['Africa', 'America', 'Antarctica', 'Asia', 'Atlantic', 'Australia', 'Europe', 'Indian', 'Pacific']);

/**
 * Returns the place an IANA zone is named after, such as "New York" for
 * America/New_York, as the invitation emails name it, or the name unchanged
 * for a zone without a place, such as UTC.
 *
 * @param {string} timeZone
 * @returns {string}
 */
export function placeOfZone(timeZone) {
  const parts = timeZone.split('/');
  if (parts.length < 2 || !PLACE_AREAS.has(parts[0])) return timeZone;
  return parts[parts.length - 1].replaceAll('_', ' ');
}

/**
 * Returns the name that Intl uses for an IANA zone, or the name unchanged
 * when this browser does not know the zone.
 *
 * @param {string} timeZone
 * @returns {string}
 */
export function resolveTimeZone(timeZone) {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone }).resolvedOptions().timeZone;
  } catch {
    // RangeError: unknown time zone.
    return timeZone;
  }
}

/**
 * Returns the calendar date "YYYY-MM-DD" and the time "HH:MM" of an RFC 3339
 * instant in `timeZone`, or null when the instant or the zone is invalid.
 *
 * @param {string} instant such as "2026-12-14T05:00:03Z"
 * @param {string} timeZone IANA name
 * @returns {{ date: string, time: string } | null}
 */
export function dateAndTimeIn(instant, timeZone) {
  const moment = new Date(instant);
  if (Number.isNaN(moment.getTime())) return null;
  /** @type {Intl.DateTimeFormatPart[]} */
  let parts;
  try {
    parts = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    }).formatToParts(moment);
  } catch {
    // RangeError: this browser does not know the time zone.
    return null;
  }
  /** @param {Intl.DateTimeFormatPartTypes} type */
  const part = (type) => parts.find((entry) => entry.type === type)?.value ?? '';
  return { date: `${part('year')}-${part('month')}-${part('day')}`, time: `${part('hour')}:${part('minute')}` };
}
