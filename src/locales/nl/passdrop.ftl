# passdrop in het Nederlands. Aanspreekvorm: u. Termen: link, wachtwoord, mailbox.

## The frame of every page

site-header = Veilig wachtwoord doorgeven
site-footer = Deze pagina slaat niets op in uw browser en gebruikt geen cookies of trackers.
error-prefix = Fout:

## Dates

date-format = { $weekday } { $day } { $month } om { $time } { $zone }
weekday-1 = maandag
weekday-2 = dinsdag
weekday-3 = woensdag
weekday-4 = donderdag
weekday-5 = vrijdag
weekday-6 = zaterdag
weekday-7 = zondag
month-1 = januari
month-2 = februari
month-3 = maart
month-4 = april
month-5 = mei
month-6 = juni
month-7 = juli
month-8 = augustus
month-9 = september
month-10 = oktober
month-11 = november
month-12 = december

## The collection form

form-title = Uw e-mail verhuist
form-asker-default = Uw IT-afdeling
form-lead = { $org } verhuist uw mailbox { $email } naar Microsoft 365. Om de e-mail die u al hebt te kopiëren, is eenmalig uw huidige e-mailwachtwoord nodig.
form-fact-encrypted = Het wordt versleuteld zodra u het verstuurt; alleen degene die de verhuizing uitvoert, kan het ontsleutelen.
form-fact-deleted = Het wordt alleen gebruikt om uw bestaande e-mail te kopiëren en na de verhuizing verwijderd.
form-fact-once = Deze link werkt één keer, en alleen tot { $expires }.
form-password-label = Huidig e-mailwachtwoord
form-confirm-label = Typ hetzelfde wachtwoord nogmaals
form-show-password = Wachtwoord tonen
form-hide-password = Wachtwoord verbergen
form-checked-hint = Typ het precies zoals uw e-mailprogramma het gebruikt. Voordat we het opslaan, controleren we het bij uw huidige mailserver ({ $host }), zodat een typefout nu al opvalt en niet pas op de verhuisdag.
form-tries-left = { $count ->
    [one] U hebt nog één poging voordat deze link wordt geblokkeerd.
   *[other] U hebt nog { $count } pogingen voordat deze link wordt geblokkeerd.
}
form-mail-client-legend = Hoe leest u vandaag uw e-mail?
form-optional = (niet verplicht)
mail-client-webmail = In een webbrowser (webmail)
mail-client-several-devices = In een app op meerdere apparaten (bijvoorbeeld telefoon en laptop)
mail-client-one-computer = In Outlook of een ander programma op slechts één computer
mail-client-not-sure = Weet ik niet zeker
form-submit = Wachtwoord veilig versturen
form-checking-wait = Het controleren bij uw mailserver kan tot een minuut duren. Houd deze pagina open nadat u op de knop hebt gedrukt.
form-checking = Bezig met controleren bij uw mailserver…
form-not-expecting = Had u dit niet verwacht? Typ dan niets en vraag het uw IT-contactpersoon. IT zal nooit op een andere manier naar uw wachtwoord vragen.

## Why a password was not accepted

error-not-a-form = Het formulier is niet op de gebruikelijke manier verstuurd. Laad de pagina opnieuw en probeer het nog eens.
error-not-utf8 = Het formulier is niet als UTF-8-tekst verstuurd. Probeer het in een andere browser.
error-repeated-field = Het formulier is verstuurd met een veld dat twee keer voorkomt. Laad de pagina opnieuw en probeer het nog eens.
error-missing-field = Het formulier was onvolledig. Laad de pagina opnieuw en probeer het nog eens.
error-malformed = Het formulier is onderweg beschadigd. Laad de pagina opnieuw en probeer het nog eens.
error-mail-client = Kies een van de antwoorden over hoe u uw e-mail leest.
error-password-empty = Typ uw huidige e-mailwachtwoord.
error-password-too-long = Dat wachtwoord is langer dan 1024 bytes; controleer het alstublieft.
error-password-forbidden = Een wachtwoord mag geen regeleinden of NUL-tekens bevatten; typ het opnieuw.
error-password-mismatch = De twee wachtwoorden komen niet overeen; typ ze opnieuw.
error-server-rejected = Uw huidige mailserver ({ $host }) heeft dit wachtwoord voor { $email } niet geaccepteerd. Controleer het en typ het opnieuw, precies zoals uw e-mailprogramma het gebruikt.
error-server-refused = Uw huidige mailserver ({ $host }) heeft deze aanmelding geweigerd: ‘{ $reason }’. Dit is meestal geen typefout; laat het degene weten die u deze link heeft gestuurd.
error-already-checking = Er wordt al een wachtwoord voor deze link gecontroleerd bij uw mailserver. Wacht een paar seconden en probeer het dan opnieuw.
error-try-later = Uw wachtwoord kon op dit moment niet worden gecontroleerd bij uw huidige mailserver, dus er is niets opgeslagen. Probeer het over een paar minuten opnieuw; deze link werkt nog.
error-uncounted-cap = Uw wachtwoord kon het afgelopen uur te vaak niet worden gecontroleerd bij uw huidige mailserver, dus er is niets opgeslagen en nu niets gecontroleerd. Probeer het over een uur opnieuw; deze link werkt nog en geen van deze pogingen is geteld.
error-app-password = Uw huidige mailserver ({ $host }) vraagt voor { $email } om een app-wachtwoord, niet om uw gewone wachtwoord: dit account gebruikt verificatie in twee stappen. Maak een app-wachtwoord aan in de beveiligingsinstellingen van uw account (bij Google: myaccount.google.com/apppasswords), typ het hier en bewaar het tot de verhuizing klaar is. Lukt dat niet, laat het dan weten aan wie u deze link stuurde. Deze poging is niet meegeteld.

## The confirmation

done-title = Dank u wel
done-heading = Dank u wel, u bent klaar
done-lead = Het wachtwoord voor { $email } is versleuteld en bewaard voor de verhuizing.
done-next-steps = Wat er nu gebeurt
done-closing = Deze link is nu gebruikt en kan niet opnieuw worden gebruikt. U kunt deze pagina sluiten.

## Links that do not work (any more)

unknown-title = Link niet herkend
unknown-text = Deze link is niet geldig. Controleer of u de volledige link uit uw bericht hebt geopend (een link die over twee regels is verdeeld, kan zijn afgebroken), of vraag degene die hem stuurde om een nieuwe.
used-title = Wachtwoord al ontvangen
used-text = Voor deze link is op { $date } een wachtwoord ontvangen. U hoeft verder niets te doen. Hebt u het niet zelf verstuurd, meld dit dan meteen bij uw IT-contactpersoon.
used-text-undated = Voor deze link is een wachtwoord ontvangen. U hoeft verder niets te doen. Hebt u het niet zelf verstuurd, meld dit dan meteen bij uw IT-contactpersoon.
revoked-title = Link ingetrokken
revoked-text = Deze link is ingetrokken door degene die hem stuurde. Vraag die persoon of u uw wachtwoord nog moet versturen.
replaced-title = Deze link is vervangen door een nieuwere
replaced-text = Deze link is voor dezelfde mailbox vervangen door een nieuwere en werkt dus niet meer. Hebt u een nieuwere link gekregen, gebruik die dan; zo niet, vraag dan degene die u deze link stuurde om een nieuwe.
locked-title = Link geblokkeerd
locked-text = Deze link is geblokkeerd na te veel mislukte pogingen. Vraag degene die hem stuurde om een nieuwe.
expired-title = Link verlopen
expired-text = Deze link is verlopen. Vraag degene die hem stuurde om een nieuwe.
closed-title = Deze inzameling is gesloten
closed-text = Deze inzameling is gesloten. Moet u uw wachtwoord nog doorgeven, neem dan contact op met { $org }. Deze link neemt geen wachtwoord meer aan, en wat er nu naartoe wordt gestuurd, wordt niet bewaard.
closed-text-no-org = Deze inzameling is gesloten. Moet u uw wachtwoord nog doorgeven, neem dan contact op met degene die u deze link stuurde. Deze link neemt geen wachtwoord meer aan, en wat er nu naartoe wordt gestuurd, wordt niet bewaard.

## The email that carries the link

email-subject = { $org }: uw mailbox verhuist naar Microsoft 365
email-body =
    Beste { $name },

    { $org } verhuist uw mailbox { $email } naar Microsoft 365. Om de e-mail die u al hebt te kopiëren, is eenmalig uw huidige e-mailwachtwoord nodig.

    Open deze link en typ het daar in. De link werkt één keer, tot { $expires }:

    { $link }

    Het adres van de link begint met { $link_start }. Uw wachtwoord wordt versleuteld zodra u het verstuurt, alleen gebruikt om uw e-mail te kopiëren en na de verhuizing verwijderd.

    { $org } zal nooit per e-mail, chat of telefoon naar uw wachtwoord vragen, alleen via deze link. Had u dit bericht niet verwacht of hebt u een vraag, open de link dan niet en neem contact op met:

    { $contact }


## Who is asking: a batch's contact and link prefix (shown only when the admin set them)

brand-contact-heading = Uw contactpersoon voor deze verhuizing
brand-contact-phone = Telefoon:
brand-contact-email = E-mail:
brand-link-prefix = Onze link begint altijd met { $prefix }. Typ uw wachtwoord nooit op een ander adres.
brand-not-expecting = Had u dit niet verwacht? Typ dan niets en vraag het { $contact }. IT zal nooit op een andere manier naar uw wachtwoord vragen.

## Refusals by the server's own layers, on /s/ pages

page-too-large-title = Te veel gegevens
page-too-large-text = Wat is verstuurd, is groter dan dit formulier accepteert (een wachtwoord mag hoogstens 1024 bytes zijn). Er is niets opgeslagen en uw link werkt nog; ga terug en probeer het opnieuw.
page-timeout-title = Dat duurde te lang
page-timeout-text = Uw browser deed te lang over het versturen van het formulier. Er is niets opgeslagen en uw link werkt nog; probeer het opnieuw.
page-bad-request-title = Verzoek niet begrepen
page-bad-request-text = Dit verzoek kon niet worden begrepen. Er is niets gewijzigd; open uw link opnieuw.
page-server-error-title = Er ging iets mis
page-server-error-text = Dit verzoek kon niet worden afgerond. Er is niets opgeslagen; probeer het over een minuut opnieuw.
page-cannot-save-title = We konden het niet opslaan
page-cannot-save-text = Er is niets gewijzigd en niets verbruikt: uw link werkt nog en niets van wat u verstuurde, is bewaard. De server kan op dit moment niets opslaan; probeer het over een paar minuten opnieuw.

## De uitwegen: "Ik weet mijn wachtwoord niet", "Ik heb hulp nodig", "Dit was ik niet"

ways-dont-know = Ik weet mijn wachtwoord niet
ways-not-me = Dit was ik niet / Ik verwachtte dit niet
ways-need-help = IT laten weten dat ik hulp nodig heb
ways-back = Terug naar het formulier
dont-know-title = Als u uw wachtwoord niet weet
dont-know-saved = Uw wachtwoord staat misschien opgeslagen op uw telefoon (in de accountinstellingen van de mail-app), in Outlook op uw computer of in de wachtwoordbeheerder van uw browser.
dont-know-reset = Vindt u het niet, vraag dan { $org } om een nieuw wachtwoord, kom daarna terug naar deze link en typ het nieuwe hier.
dont-know-stuck = Komt u er niet uit? Laat IT weten dat u hulp nodig hebt; zij nemen contact met u op. Uw link blijft werken.
help-title = IT laten weten dat u hulp nodig hebt
help-text = IT ziet dat u hulp nodig hebt met het wachtwoord van { $email } en neemt contact met u op. Uw link blijft werken: u kunt hem later nog gebruiken.
help-text-new-link = IT ziet dat u hulp nodig hebt met het wachtwoord van { $email } en neemt contact met u op; deze link neemt geen wachtwoord meer aan, dus u krijgt zo nodig een nieuwe.
help-confirm = Ja, ik wil dat IT contact met mij opneemt over mijn wachtwoord
help-submit = IT inlichten
help-unconfirmed = Er is niets verstuurd. Wilt u dat IT contact met u opneemt, vink dan eerst het vakje aan en druk daarna op de knop.
help-done-title = IT weet dat u hulp nodig hebt
help-done-emailed = We hebben IT per e-mail ingelicht. Zij nemen contact met u op.
help-done-console = IT ziet uw verzoek in de console van passdrop en neemt contact met u op.
help-done-link = Uw link blijft werken: zodra u uw wachtwoord hebt, opent u de link opnieuw en typt u het daar.
not-me-title = Verwachtte u dit niet?
not-me-text = Verwachtte u geen verzoek om het wachtwoord van { $email }, laat het IT dan hier weten. De link wordt meteen uitgeschakeld, zodat niemand hem kan gebruiken, en IT neemt contact met u op.
not-me-confirm = Ja, schakel deze link uit en licht IT in
not-me-submit = Uitschakelen en IT inlichten
not-me-unconfirmed = Er is niets veranderd. Wilt u deze link melden, vink dan eerst het vakje aan en druk daarna op de knop.
not-me-done-title = Bedankt voor uw melding
not-me-done-off = Deze link is nu uitgeschakeld: niemand kan hem gebruiken. Er is niets mee verstuurd.
not-me-done-used = Deze link is nu uitgeschakeld. Er was al een wachtwoord mee ontvangen; IT controleert het voordat het wordt gebruikt.
not-me-done-emailed = We hebben IT per e-mail ingelicht. Zij nemen contact met u op; u hoeft verder niets te doen.
not-me-done-console = IT ziet uw melding in de console van passdrop en neemt contact met u op; u hoeft verder niets te doen.
not-me-done-advice = Typ uw wachtwoord niet in op een pagina die u niet verwachtte, en beantwoord het bericht met de link niet.
page-forbidden-title = Verzoek geweigerd
page-forbidden-text = Dit formulier kan alleen vanaf zijn eigen pagina worden verstuurd. Open uw link opnieuw en verstuur het formulier van daaruit; er is niets veranderd.
page-too-many-title = Te veel verzoeken
page-too-many-text = Er kwamen in korte tijd te veel verzoeken uit uw netwerk. Wacht een minuut en probeer het opnieuw; niets van wat u verstuurde is verloren gegaan of gebruikt.
