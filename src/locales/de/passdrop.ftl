# passdrop auf Deutsch. Anrede: Sie. Begriffe: Link, Passwort, Postfach.

## The frame of every page

site-header = Sichere Passworterfassung
site-footer = Diese Seite speichert nichts in Ihrem Browser und verwendet weder Cookies noch Tracker.
error-prefix = Fehler:

## Dates

date-format = { $weekday }, { $day }. { $month }, { $time } { $zone }
weekday-1 = Montag
weekday-2 = Dienstag
weekday-3 = Mittwoch
weekday-4 = Donnerstag
weekday-5 = Freitag
weekday-6 = Samstag
weekday-7 = Sonntag
month-1 = Januar
month-2 = Februar
month-3 = März
month-4 = April
month-5 = Mai
month-6 = Juni
month-7 = Juli
month-8 = August
month-9 = September
month-10 = Oktober
month-11 = November
month-12 = Dezember

## The collection form

form-title = Ihr E-Mail-Postfach zieht um
form-asker-default = Ihr IT-Team
form-lead = { $org } zieht Ihr Postfach { $email } zu Microsoft 365 um. Damit Ihre vorhandenen E-Mails kopiert werden können, wird einmalig Ihr aktuelles E-Mail-Passwort benötigt.
form-fact-encrypted = Es wird verschlüsselt, sobald Sie es absenden; nur die Person, die den Umzug durchführt, kann es entschlüsseln.
form-fact-deleted = Es wird nur zum Kopieren Ihrer vorhandenen E-Mails verwendet und nach dem Umzug gelöscht.
form-fact-once = Dieser Link funktioniert nur einmal und nur bis { $expires }.
form-password-label = Aktuelles E-Mail-Passwort
form-confirm-label = Passwort wiederholen
form-show-password = Passwort anzeigen
form-hide-password = Passwort verbergen
form-checked-hint = Geben Sie es genau so ein, wie Ihr E-Mail-Programm es verwendet. Bevor wir es speichern, prüfen wir es bei Ihrem aktuellen Mailserver ({ $host }), damit ein Tippfehler jetzt auffällt und nicht erst am Umzugstag.
form-tries-left = { $count ->
    [one] Sie haben noch einen Versuch, bevor dieser Link gesperrt wird.
   *[other] Sie haben noch { $count } Versuche, bevor dieser Link gesperrt wird.
}
form-mail-client-legend = Wie lesen Sie Ihre E-Mails heute?
form-optional = (freiwillig)
mail-client-webmail = Im Webbrowser (Webmail)
mail-client-several-devices = In einer App auf mehreren Geräten (zum Beispiel Telefon und Laptop)
mail-client-one-computer = In Outlook oder einem anderen Programm auf nur einem Computer
mail-client-not-sure = Ich bin nicht sicher
form-submit = Passwort sicher senden
form-checking-wait = Die Prüfung bei Ihrem Mailserver kann bis zu einer Minute dauern. Bitte lassen Sie diese Seite nach dem Klick auf die Schaltfläche geöffnet.
form-checking = Wird bei Ihrem Mailserver geprüft …
form-not-expecting = Haben Sie diese Nachricht nicht erwartet? Geben Sie nichts ein und fragen Sie Ihre IT-Ansprechperson. Die IT wird Sie nie auf anderem Weg nach Ihrem Passwort fragen.

## Why a password was not accepted

error-not-a-form = Das Formular wurde nicht auf dem üblichen Weg gesendet. Bitte laden Sie die Seite neu und versuchen Sie es erneut.
error-not-utf8 = Das Formular wurde nicht als UTF-8-Text gesendet. Bitte versuchen Sie es in einem anderen Browser.
error-repeated-field = Im Formular wurde ein Feld mehrfach gesendet. Bitte laden Sie die Seite neu und versuchen Sie es erneut.
error-missing-field = Das Formular war unvollständig. Bitte laden Sie die Seite neu und versuchen Sie es erneut.
error-malformed = Das Formular wurde bei der Übertragung beschädigt. Bitte laden Sie die Seite neu und versuchen Sie es erneut.
error-mail-client = Bitte wählen Sie eine der Antworten dazu, wie Sie Ihre E-Mails lesen.
error-password-empty = Bitte geben Sie Ihr aktuelles E-Mail-Passwort ein.
error-password-too-long = Dieses Passwort ist länger als 1024 Byte; bitte prüfen Sie es.
error-password-forbidden = Ein Passwort darf keine Zeilenumbrüche oder NUL-Zeichen enthalten; bitte geben Sie es erneut ein.
error-password-mismatch = Die beiden Passwörter stimmen nicht überein; bitte geben Sie sie erneut ein.
error-server-rejected = Ihr aktueller Mailserver ({ $host }) hat dieses Passwort für { $email } nicht angenommen. Bitte prüfen Sie es und geben Sie es erneut ein, genau so, wie Ihr E-Mail-Programm es verwendet.
error-server-refused = Ihr aktueller Mailserver ({ $host }) hat diese Anmeldung abgelehnt: „{ $reason }“. Meist ist das kein Tippfehler; bitte wenden Sie sich an die Person, die Ihnen diesen Link geschickt hat.
error-already-checking = Ein Passwort für diesen Link wird gerade bei Ihrem Mailserver geprüft. Bitte warten Sie einige Sekunden und versuchen Sie es dann erneut.
error-try-later = Ihr Passwort konnte gerade nicht bei Ihrem aktuellen Mailserver geprüft werden, daher wurde nichts gespeichert. Bitte versuchen Sie es in einigen Minuten erneut; dieser Link funktioniert weiterhin.
error-uncounted-cap = Ihr Passwort konnte in der letzten Stunde zu oft nicht bei Ihrem aktuellen Mailserver geprüft werden, daher wurde nichts gespeichert und jetzt nichts geprüft. Bitte versuchen Sie es in einer Stunde erneut; dieser Link funktioniert weiterhin, und keiner dieser Versuche wurde gezählt.
error-app-password = Ihr aktueller Mailserver ({ $host }) verlangt für { $email } ein App-Passwort statt Ihres üblichen Passworts: Dieses Konto nutzt die Anmeldung in zwei Schritten. Erstellen Sie in den Sicherheitseinstellungen Ihres Kontos ein App-Passwort (bei Google: myaccount.google.com/apppasswords), geben Sie es hier ein und behalten Sie es, bis der Umzug abgeschlossen ist. Wenn Sie keines erstellen können, wenden Sie sich an die Person, die Ihnen diesen Link geschickt hat. Dieser Versuch wurde nicht gezählt.

## The confirmation

done-title = Vielen Dank
done-heading = Vielen Dank, Sie sind fertig
done-lead = Das Passwort für { $email } ist verschlüsselt und für den Umzug gespeichert.
done-next-steps = Wie es weitergeht
done-closing = Dieser Link ist nun verbraucht und kann nicht erneut verwendet werden. Sie können diese Seite schließen.

## Links that do not work (any more)

unknown-title = Link nicht erkannt
unknown-text = Dieser Link ist ungültig. Prüfen Sie, ob Sie den vollständigen Link aus Ihrer Nachricht geöffnet haben (ein Link, der auf zwei Zeilen umbricht, kann abgeschnitten sein), oder bitten Sie die Person, die ihn geschickt hat, um einen neuen.
used-title = Passwort bereits erhalten
used-text = Für diesen Link wurde am { $date } ein Passwort empfangen. Sie müssen nichts weiter tun. Falls Sie es nicht gesendet haben, informieren Sie bitte sofort Ihre IT-Ansprechperson.
used-text-undated = Für diesen Link wurde ein Passwort empfangen. Sie müssen nichts weiter tun. Falls Sie es nicht gesendet haben, informieren Sie bitte sofort Ihre IT-Ansprechperson.
revoked-title = Link zurückgezogen
revoked-text = Dieser Link wurde von der Person zurückgezogen, die ihn geschickt hat. Fragen Sie dort nach, ob Sie Ihr Passwort noch senden müssen.
replaced-title = Dieser Link wurde durch einen neueren ersetzt
replaced-text = Dieser Link wurde für dasselbe Postfach durch einen neueren ersetzt und funktioniert nicht mehr. Wenn Sie einen neueren Link erhalten haben, verwenden Sie bitte diesen; andernfalls bitten Sie die Person, die Ihnen diesen Link geschickt hat, um einen neuen.
locked-title = Link gesperrt
locked-text = Dieser Link wurde nach zu vielen erfolglosen Versuchen gesperrt. Bitten Sie die Person, die ihn geschickt hat, um einen neuen.
expired-title = Link abgelaufen
expired-text = Dieser Link ist abgelaufen. Bitten Sie die Person, die ihn geschickt hat, um einen neuen.
closed-title = Diese Erfassung ist abgeschlossen
closed-text = Diese Erfassung ist abgeschlossen. Wenn Sie Ihr Passwort noch senden müssen, wenden Sie sich an { $org }. Dieser Link nimmt kein Passwort mehr an, und nichts, was jetzt an ihn gesendet wird, wird gespeichert.
closed-text-no-org = Diese Erfassung ist abgeschlossen. Wenn Sie Ihr Passwort noch senden müssen, wenden Sie sich an die Person, die Ihnen diesen Link geschickt hat. Dieser Link nimmt kein Passwort mehr an, und nichts, was jetzt an ihn gesendet wird, wird gespeichert.

## The email that carries the link

email-subject = { $org }: Ihr Postfach zieht zu Microsoft 365 um
email-body =
    Guten Tag { $name },

    { $org } zieht Ihr Postfach { $email } zu Microsoft 365 um. Damit Ihre vorhandenen E-Mails kopiert werden können, wird einmalig Ihr aktuelles E-Mail-Passwort benötigt.

    Bitte öffnen Sie diesen Link und geben Sie es dort ein. Der Link funktioniert einmal, bis { $expires }:

    { $link }

    Die Adresse des Links beginnt mit { $link_start }. Ihr Passwort wird verschlüsselt, sobald Sie es absenden, nur zum Kopieren Ihrer E-Mails verwendet und nach dem Umzug gelöscht.

    { $org } wird Sie nie per E-Mail, Chat oder Telefon nach Ihrem Passwort fragen, sondern nur über diesen Link. Wenn Sie diese Nachricht nicht erwartet haben oder eine Frage haben, öffnen Sie den Link nicht und wenden Sie sich an:

    { $contact }


## Who is asking: a batch's contact and link prefix (shown only when the admin set them)

brand-contact-heading = Ihre Ansprechperson für den Umzug
brand-contact-phone = Telefon:
brand-contact-email = E-Mail:
brand-link-prefix = Unser Link beginnt immer mit { $prefix }. Geben Sie Ihr Passwort auf keiner anderen Adresse ein.
brand-not-expecting = Haben Sie diese Nachricht nicht erwartet? Geben Sie nichts ein und fragen Sie { $contact }. Die IT wird Sie nie auf anderem Weg nach Ihrem Passwort fragen.

## Refusals by the server's own layers, on /s/ pages

page-too-large-title = Zu viele Daten
page-too-large-text = Die gesendeten Daten sind größer, als dieses Formular annimmt (ein Passwort darf höchstens 1024 Byte lang sein). Es wurde nichts gespeichert und Ihr Link funktioniert weiterhin; bitte gehen Sie zurück und versuchen Sie es erneut.
page-timeout-title = Das hat zu lange gedauert
page-timeout-text = Ihr Browser hat zu lange gebraucht, um das Formular zu senden. Es wurde nichts gespeichert und Ihr Link funktioniert weiterhin; bitte versuchen Sie es erneut.
page-bad-request-title = Anfrage nicht verstanden
page-bad-request-text = Diese Anfrage konnte nicht verstanden werden. Es wurde nichts geändert; bitte öffnen Sie Ihren Link erneut.
page-server-error-title = Etwas ist schiefgelaufen
page-server-error-text = Diese Anfrage konnte nicht abgeschlossen werden. Es wurde nichts gespeichert; bitte versuchen Sie es in einer Minute erneut.
page-cannot-save-title = Wir konnten es nicht speichern
page-cannot-save-text = Es wurde nichts geändert und nichts verbraucht: Ihr Link funktioniert weiterhin, und nichts von dem, was Sie gesendet haben, wurde behalten. Der Server kann im Moment nichts speichern; bitte versuchen Sie es in einigen Minuten erneut.

## Die Auswege: „Ich kenne mein Passwort nicht“, „Ich brauche Hilfe“, „Das war nicht ich“

ways-dont-know = Ich kenne mein Passwort nicht
ways-not-me = Das war nicht ich / Ich habe das nicht erwartet
ways-need-help = Der IT sagen, dass ich Hilfe brauche
ways-back = Zurück zum Formular
dont-know-title = Wenn Sie Ihr Passwort nicht kennen
dont-know-saved = Ihr Passwort ist vielleicht auf Ihrem Handy gespeichert (in den Kontoeinstellungen der Mail-App), in Outlook auf Ihrem Computer oder im Passwortmanager Ihres Browsers.
dont-know-reset = Wenn Sie es nicht finden, bitten Sie { $org } um ein neues Passwort, öffnen Sie dann diesen Link wieder und geben Sie hier das neue ein.
dont-know-stuck = Kommen Sie nicht weiter? Sagen Sie der IT, dass Sie Hilfe brauchen; sie meldet sich bei Ihnen. Ihr Link funktioniert weiter.
help-title = Der IT sagen, dass Sie Hilfe brauchen
help-text = Die IT sieht, dass Sie Hilfe mit dem Passwort für { $email } brauchen, und meldet sich bei Ihnen. Ihr Link funktioniert weiter: Sie können ihn später noch benutzen.
help-text-new-link = Die IT sieht, dass Sie Hilfe mit dem Passwort für { $email } brauchen, und meldet sich bei Ihnen; dieser Link nimmt kein Passwort mehr an, daher schickt sie Ihnen bei Bedarf einen neuen.
help-confirm = Ja, die IT soll mich wegen meines Passworts kontaktieren
help-submit = IT benachrichtigen
help-unconfirmed = Es wurde nichts gesendet. Wenn die IT Sie kontaktieren soll, setzen Sie zuerst das Häkchen und drücken Sie dann die Schaltfläche.
help-done-title = Die IT weiß, dass Sie Hilfe brauchen
help-done-emailed = Wir haben die IT per E-Mail benachrichtigt. Sie meldet sich bei Ihnen.
help-done-console = Die IT sieht Ihre Anfrage in der passdrop-Konsole und meldet sich bei Ihnen.
help-done-link = Ihr Link funktioniert weiter: Sobald Sie Ihr Passwort haben, öffnen Sie den Link wieder und geben es dort ein.
not-me-title = Haben Sie das nicht erwartet?
not-me-text = Wenn Sie keine Anfrage nach dem Passwort für { $email } erwartet haben, sagen Sie es hier der IT. Der Link wird sofort abgeschaltet, sodass niemand ihn benutzen kann, und die IT meldet sich bei Ihnen.
not-me-confirm = Ja, diesen Link abschalten und die IT benachrichtigen
not-me-submit = Abschalten und IT benachrichtigen
not-me-unconfirmed = Es wurde nichts geändert. Wenn Sie diesen Link melden möchten, setzen Sie zuerst das Häkchen und drücken Sie dann die Schaltfläche.
not-me-done-title = Danke für Ihre Meldung
not-me-done-off = Dieser Link ist jetzt abgeschaltet: Niemand kann ihn benutzen. Es wurde nichts damit gesendet.
not-me-done-used = Dieser Link ist jetzt abgeschaltet. Mit ihm war bereits ein Passwort empfangen worden; die IT prüft es, bevor sie es verwendet.
not-me-done-emailed = Wir haben die IT per E-Mail benachrichtigt. Sie meldet sich bei Ihnen; Sie müssen nichts weiter tun.
not-me-done-console = Die IT sieht Ihre Meldung in der passdrop-Konsole und meldet sich bei Ihnen; Sie müssen nichts weiter tun.
not-me-done-advice = Geben Sie Ihr Passwort auf keiner Seite ein, die Sie nicht erwartet haben, und antworten Sie nicht auf die Nachricht mit dem Link.
page-forbidden-title = Anfrage abgelehnt
page-forbidden-text = Dieses Formular kann nur von seiner eigenen Seite gesendet werden. Bitte öffnen Sie Ihren Link erneut und senden Sie das Formular von dort; es wurde nichts geändert.
page-too-many-title = Zu viele Anfragen
page-too-many-text = Aus Ihrem Netzwerk kamen in kurzer Zeit zu viele Anfragen. Bitte warten Sie eine Minute und versuchen Sie es erneut; nichts, was Sie gesendet haben, ging verloren oder wurde verwendet.
