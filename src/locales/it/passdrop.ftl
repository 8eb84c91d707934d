# passdrop in italiano. Forma di cortesia: Lei. Termini: link, password, casella di posta.

## The frame of every page

site-header = Raccolta sicura della password
site-footer = Questa pagina non salva nulla nel Suo browser e non usa cookie né sistemi di tracciamento.
error-prefix = Errore:

## Dates

date-format = { $weekday } { $day } { $month } alle { $time } { $zone }
weekday-1 = lunedì
weekday-2 = martedì
weekday-3 = mercoledì
weekday-4 = giovedì
weekday-5 = venerdì
weekday-6 = sabato
weekday-7 = domenica
month-1 = gennaio
month-2 = febbraio
month-3 = marzo
month-4 = aprile
month-5 = maggio
month-6 = giugno
month-7 = luglio
month-8 = agosto
month-9 = settembre
month-10 = ottobre
month-11 = novembre
month-12 = dicembre

## The collection form

form-title = La Sua posta elettronica si trasferisce
form-asker-default = Il Suo reparto IT
form-lead = { $org } sta trasferendo la Sua casella di posta { $email } a Microsoft 365. Per copiare i messaggi che ha già, il trasferimento ha bisogno, una sola volta, della Sua password di posta attuale.
form-fact-encrypted = Viene cifrata nel momento in cui la invia; solo chi esegue il trasferimento può decifrarla.
form-fact-deleted = Viene usata solo per copiare i Suoi messaggi esistenti ed eliminata dopo il trasferimento.
form-fact-once = Questo link funziona una sola volta, e solo fino a { $expires }.
form-password-label = Password di posta attuale
form-confirm-label = Digiti di nuovo la stessa password
form-show-password = Mostra la password
form-hide-password = Nascondi la password
form-checked-hint = La digiti esattamente come la usa la Sua app di posta. Prima di salvarla, la verifichiamo con il Suo server di posta attuale ({ $host }), così un errore di battitura emerge ora e non il giorno del trasferimento.
form-tries-left = { $count ->
    [one] Le resta un tentativo prima che questo link venga bloccato.
   *[other] Le restano { $count } tentativi prima che questo link venga bloccato.
}
form-mail-client-legend = Come legge oggi la Sua posta?
form-optional = (facoltativo)
mail-client-webmail = In un browser web (webmail)
mail-client-several-devices = In un'app su più dispositivi (per esempio telefono e portatile)
mail-client-one-computer = In Outlook o in un altro programma su un solo computer
mail-client-not-sure = Non sono sicuro
form-submit = Invia la password in modo sicuro
form-checking-wait = La verifica con il Suo server di posta può richiedere fino a un minuto. Tenga aperta questa pagina dopo aver premuto il pulsante.
form-checking = Verifica con il Suo server di posta in corso…
form-not-expecting = Non si aspettava questo messaggio? Non digiti nulla e si rivolga al Suo referente IT. L'IT non Le chiederà mai la password in nessun altro modo.

## Why a password was not accepted

error-not-a-form = Il modulo non è stato inviato nel modo consueto. Ricarichi la pagina e riprovi.
error-not-utf8 = Il modulo non è stato inviato come testo UTF-8. Riprovi con un altro browser.
error-repeated-field = Il modulo è stato inviato con un campo ripetuto. Ricarichi la pagina e riprovi.
error-missing-field = Il modulo era incompleto. Ricarichi la pagina e riprovi.
error-malformed = Il modulo si è danneggiato durante l'invio. Ricarichi la pagina e riprovi.
error-mail-client = Scelga una delle risposte su come legge la Sua posta.
error-password-empty = Digiti la Sua password di posta attuale.
error-password-too-long = Questa password supera i 1024 byte; La preghiamo di controllarla.
error-password-forbidden = Una password non può contenere a capo o caratteri NUL; La preghiamo di digitarla di nuovo.
error-password-mismatch = Le due password non coincidono; La preghiamo di digitarle di nuovo.
error-server-rejected = Il Suo server di posta attuale ({ $host }) non ha accettato questa password per { $email }. La controlli e la digiti di nuovo, esattamente come la usa la Sua app di posta.
error-server-refused = Il Suo server di posta attuale ({ $host }) ha rifiutato questo accesso: «{ $reason }». Di solito non è un errore di battitura; avvisi chi Le ha inviato questo link.
error-already-checking = Una password per questo link è già in verifica presso il Suo server di posta. Attenda qualche secondo e riprovi.
error-try-later = Al momento non è stato possibile verificare la Sua password con il Suo server di posta attuale, quindi non è stato salvato nulla. Riprovi tra qualche minuto; questo link funziona ancora.
error-uncounted-cap = Nell’ultima ora non è stato possibile verificare la Sua password con il Suo server di posta attuale troppe volte, quindi non è stato salvato nulla e ora non è stato verificato nulla. Riprovi tra un’ora; questo link funziona ancora e nessuno di questi tentativi è stato contato.
error-app-password = Il Suo server di posta attuale ({ $host }) chiede per { $email } una password per le app, non la Sua password abituale: questo account usa la verifica in due passaggi. Crei una password per le app nelle impostazioni di sicurezza del Suo account (per Google: myaccount.google.com/apppasswords), la scriva qui e la conservi fino al termine del trasferimento. Se non riesce a crearne una, lo comunichi a chi Le ha inviato questo link. Questo tentativo non è stato contato.

## The confirmation

done-title = Grazie
done-heading = Grazie, ha finito
done-lead = La password di { $email } è cifrata e conservata per il trasferimento.
done-next-steps = I prossimi passi
done-closing = Questo link è ora stato usato e non può essere usato di nuovo. Può chiudere questa pagina.

## Links that do not work (any more)

unknown-title = Link non riconosciuto
unknown-text = Questo link non è valido. Controlli di aver aperto il link completo del messaggio (un link diviso su due righe può risultare troncato), oppure ne chieda uno nuovo a chi glielo ha inviato.
used-title = Password già ricevuta
used-text = Per questo link è stata ricevuta una password il { $date }. Non deve fare altro. Se non è stato Lei a inviarla, avvisi subito il Suo referente IT.
used-text-undated = Per questo link è stata ricevuta una password. Non deve fare altro. Se non è stato Lei a inviarla, avvisi subito il Suo referente IT.
revoked-title = Link ritirato
revoked-text = Questo link è stato ritirato da chi lo ha inviato. Chieda a questa persona se deve ancora inviare la password.
replaced-title = Questo link è stato sostituito da uno più recente
replaced-text = Questo link è stato sostituito da uno più recente per la stessa casella di posta, quindi non funziona più. Se ha ricevuto un link più recente, usi quello; altrimenti ne chieda uno nuovo a chi Le ha inviato questo link.
locked-title = Link bloccato
locked-text = Questo link è stato bloccato dopo troppi tentativi non riusciti. Ne chieda uno nuovo a chi glielo ha inviato.
expired-title = Link scaduto
expired-text = Questo link è scaduto. Ne chieda uno nuovo a chi glielo ha inviato.
closed-title = Questa raccolta è chiusa
closed-text = Questa raccolta è chiusa. Se deve ancora inviare la password, si rivolga a { $org }. Questo link non accetta più password e nulla di ciò che vi viene inviato ora viene conservato.
closed-text-no-org = Questa raccolta è chiusa. Se deve ancora inviare la password, si rivolga a chi Le ha inviato questo link. Questo link non accetta più password e nulla di ciò che vi viene inviato ora viene conservato.

## The email that carries the link

email-subject = { $org }: la Sua casella di posta passa a Microsoft 365
email-body =
    Gentile { $name },

    { $org } sta trasferendo la Sua casella di posta { $email } a Microsoft 365. Per copiare i messaggi che ha già, il trasferimento ha bisogno, una sola volta, della Sua password di posta attuale.

    Apra questo link e la digiti lì. Il link funziona una sola volta, fino a { $expires }:

    { $link }

    L'indirizzo del link inizia con { $link_start }. La Sua password viene cifrata nel momento in cui la invia, usata solo per copiare la Sua posta ed eliminata dopo il trasferimento.

    { $org } non Le chiederà mai la password per email, chat o telefono, ma solo tramite questo link. Se non si aspettava questo messaggio o ha una domanda, non apra il link e si rivolga a:

    { $contact }


## Who is asking: a batch's contact and link prefix (shown only when the admin set them)

brand-contact-heading = Il Suo referente per il trasferimento
brand-contact-phone = Telefono:
brand-contact-email = E-mail:
brand-link-prefix = Il nostro link inizia sempre con { $prefix }. Non digiti la password su nessun altro indirizzo.
brand-not-expecting = Non si aspettava questo messaggio? Non digiti nulla e si rivolga a { $contact }. L'IT non Le chiederà mai la password in nessun altro modo.

## Refusals by the server's own layers, on /s/ pages

page-too-large-title = Troppi dati
page-too-large-text = Quanto inviato supera ciò che questo modulo accetta (una password può essere lunga al massimo 1024 byte). Non è stato salvato nulla e il Suo link funziona ancora; torni indietro e riprovi.
page-timeout-title = Ci è voluto troppo tempo
page-timeout-text = Il Suo browser ha impiegato troppo tempo a inviare il modulo. Non è stato salvato nulla e il Suo link funziona ancora; riprovi.
page-bad-request-title = Richiesta non compresa
page-bad-request-text = Non è stato possibile comprendere questa richiesta. Non è stato modificato nulla; apra di nuovo il Suo link.
page-server-error-title = Qualcosa è andato storto
page-server-error-text = Non è stato possibile completare questa richiesta. Non è stato salvato nulla; riprovi tra un minuto.
page-cannot-save-title = Non siamo riusciti a salvarlo
page-cannot-save-text = Non è stato modificato né consumato nulla: il Suo link funziona ancora e non è stato conservato nulla di ciò che ha inviato. Al momento il server non può salvare nulla; riprovi tra qualche minuto.

## Le vie d’uscita: «Non conosco la mia password», «Ho bisogno di aiuto», «Non ero io»

ways-dont-know = Non conosco la mia password
ways-not-me = Non ero io / Non me lo aspettavo
ways-need-help = Dire all’IT che ho bisogno di aiuto
ways-back = Torna al modulo
dont-know-title = Se non conosce la sua password
dont-know-saved = La sua password potrebbe essere salvata sul telefono (nelle impostazioni dell’account dell’app di posta), in Outlook sul computer o nel gestore di password del browser.
dont-know-reset = Se non la trova, chieda una nuova password a { $org }, poi torni a questo link e inserisca qui quella nuova.
dont-know-stuck = Ancora bloccato? Dica all’IT che ha bisogno di aiuto: la contatteranno. Il suo link continua a funzionare.
help-title = Dire all’IT che ha bisogno di aiuto
help-text = L’IT vedrà che ha bisogno di aiuto con la password di { $email } e la contatterà. Il suo link continua a funzionare: potrà usarlo anche più tardi.
help-text-new-link = L’IT vedrà che ha bisogno di aiuto con la password di { $email } e la contatterà; questo link non accetta più password, quindi gliene invieranno uno nuovo se ne ha ancora bisogno.
help-confirm = Sì, voglio che l’IT mi contatti per la mia password
help-submit = Avvisa l’IT
help-unconfirmed = Non è stato inviato nulla. Se vuole che l’IT la contatti, spunti prima la casella, poi prema il pulsante.
help-done-title = L’IT sa che ha bisogno di aiuto
help-done-emailed = Abbiamo avvisato l’IT via e-mail. La contatteranno.
help-done-console = L’IT vedrà la sua richiesta nella console di passdrop e la contatterà.
help-done-link = Il suo link continua a funzionare: quando avrà la password, riapra il link e la inserisca lì.
not-me-title = Non se lo aspettava?
not-me-text = Se non si aspettava una richiesta della password di { $email }, lo dica qui all’IT. Il link viene disattivato subito, così nessuno può usarlo, e l’IT la contatterà.
not-me-confirm = Sì, disattiva questo link e avvisa l’IT
not-me-submit = Disattiva e avvisa l’IT
not-me-unconfirmed = Non è stato cambiato nulla. Se vuole segnalare questo link, spunti prima la casella, poi prema il pulsante.
not-me-done-title = Grazie per la segnalazione
not-me-done-off = Questo link ora è disattivato: nessuno può usarlo. Non è stato inviato nulla con esso.
not-me-done-used = Questo link ora è disattivato. Con esso era già stata ricevuta una password; l’IT la verificherà prima di usarla.
not-me-done-emailed = Abbiamo avvisato l’IT via e-mail. La contatteranno; non deve fare altro.
not-me-done-console = L’IT vedrà la sua segnalazione nella console di passdrop e la contatterà; non deve fare altro.
not-me-done-advice = Non inserisca la password in pagine che non si aspettava e non risponda al messaggio con il link.
page-forbidden-title = Richiesta rifiutata
page-forbidden-text = Questo modulo può essere inviato solo dalla sua pagina. Riapra il link e invii il modulo da lì; non è stato cambiato nulla.
page-too-many-title = Troppe richieste
page-too-many-text = Dalla sua rete sono arrivate troppe richieste in poco tempo. Attenda un minuto e riprovi; nulla di ciò che ha inviato è andato perso o è stato usato.
