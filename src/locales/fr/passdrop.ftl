# passdrop en français. Vouvoiement. Termes : lien, mot de passe, boîte aux lettres.

## The frame of every page

site-header = Collecte sécurisée de mot de passe
site-footer = Cette page n’enregistre rien dans votre navigateur et n’utilise ni cookies ni traceurs.
error-prefix = Erreur :

## Dates

date-format = { $weekday } { $day } { $month } à { $time } { $zone }
weekday-1 = lundi
weekday-2 = mardi
weekday-3 = mercredi
weekday-4 = jeudi
weekday-5 = vendredi
weekday-6 = samedi
weekday-7 = dimanche
month-1 = janvier
month-2 = février
month-3 = mars
month-4 = avril
month-5 = mai
month-6 = juin
month-7 = juillet
month-8 = août
month-9 = septembre
month-10 = octobre
month-11 = novembre
month-12 = décembre

## The collection form

form-title = Votre messagerie déménage
form-asker-default = Votre service informatique
form-lead = { $org } transfère votre boîte aux lettres { $email } vers Microsoft 365. Pour copier les messages que vous avez déjà, le transfert a besoin, une seule fois, du mot de passe actuel de votre messagerie.
form-fact-encrypted = Il est chiffré dès que vous l’envoyez ; seule la personne qui mène le transfert peut le déchiffrer.
form-fact-deleted = Il sert uniquement à copier vos messages existants et sera supprimé après le transfert.
form-fact-once = Ce lien ne fonctionne qu’une fois, et seulement jusqu’au { $expires }.
form-password-label = Mot de passe actuel de votre messagerie
form-confirm-label = Saisissez à nouveau le même mot de passe
form-show-password = Afficher le mot de passe
form-hide-password = Masquer le mot de passe
form-checked-hint = Saisissez-le exactement comme votre application de messagerie l’utilise. Avant de l’enregistrer, nous le vérifions auprès de votre serveur de messagerie actuel ({ $host }), afin qu’une faute de frappe soit repérée maintenant plutôt que le jour du transfert.
form-tries-left = { $count ->
    [one] Il vous reste un essai avant que ce lien ne soit bloqué.
   *[other] Il vous reste { $count } essais avant que ce lien ne soit bloqué.
}
form-mail-client-legend = Comment lisez-vous vos e-mails aujourd’hui ?
form-optional = (facultatif)
mail-client-webmail = Dans un navigateur web (webmail)
mail-client-several-devices = Dans une application sur plusieurs appareils (par exemple téléphone et ordinateur portable)
mail-client-one-computer = Dans Outlook ou un autre programme, sur un seul ordinateur
mail-client-not-sure = Je ne sais pas
form-submit = Envoyer le mot de passe en toute sécurité
form-checking-wait = La vérification auprès de votre serveur de messagerie peut prendre jusqu’à une minute. Veuillez garder cette page ouverte après avoir appuyé sur le bouton.
form-checking = Vérification auprès de votre serveur de messagerie…
form-not-expecting = Vous n’attendiez pas ce message ? Ne saisissez rien et adressez-vous à votre contact informatique. Le service informatique ne vous demandera jamais votre mot de passe autrement.

## Why a password was not accepted

error-not-a-form = Le formulaire n’a pas été envoyé de la manière habituelle. Veuillez recharger la page et réessayer.
error-not-utf8 = Le formulaire n’a pas été envoyé en texte UTF-8. Veuillez réessayer avec un autre navigateur.
error-repeated-field = Le formulaire a été envoyé avec un champ en double. Veuillez recharger la page et réessayer.
error-missing-field = Le formulaire était incomplet. Veuillez recharger la page et réessayer.
error-malformed = Le formulaire a été altéré pendant l’envoi. Veuillez recharger la page et réessayer.
error-mail-client = Veuillez choisir l’une des réponses sur la façon dont vous lisez vos e-mails.
error-password-empty = Veuillez saisir le mot de passe actuel de votre messagerie.
error-password-too-long = Ce mot de passe dépasse 1024 octets ; veuillez le vérifier.
error-password-forbidden = Un mot de passe ne peut pas contenir de saut de ligne ni de caractère NUL ; veuillez le saisir à nouveau.
error-password-mismatch = Les deux mots de passe ne correspondent pas ; veuillez les saisir à nouveau.
error-server-rejected = Votre serveur de messagerie actuel ({ $host }) n’a pas accepté ce mot de passe pour { $email }. Vérifiez-le et saisissez-le à nouveau, exactement comme votre application de messagerie l’utilise.
error-server-refused = Votre serveur de messagerie actuel ({ $host }) a refusé cette connexion : « { $reason } ». Il ne s’agit généralement pas d’une faute de frappe ; veuillez prévenir la personne qui vous a envoyé ce lien.
error-already-checking = Un mot de passe pour ce lien est déjà en cours de vérification auprès de votre serveur de messagerie. Veuillez patienter quelques secondes, puis réessayer.
error-try-later = Votre mot de passe n’a pas pu être vérifié auprès de votre serveur de messagerie actuel pour le moment ; rien n’a donc été enregistré. Veuillez réessayer dans quelques minutes ; ce lien fonctionne toujours.
error-uncounted-cap = Votre mot de passe n’a pas pu être vérifié auprès de votre serveur de messagerie actuel trop de fois au cours de la dernière heure ; rien n’a donc été enregistré ni vérifié cette fois. Veuillez réessayer dans une heure ; ce lien fonctionne toujours et aucun de ces essais n’a été compté.
error-app-password = Votre serveur de messagerie actuel ({ $host }) demande pour { $email } un mot de passe d’application, et non votre mot de passe habituel : ce compte utilise la validation en deux étapes. Créez un mot de passe d’application dans les paramètres de sécurité de votre compte (chez Google : myaccount.google.com/apppasswords), saisissez-le ici et gardez-le jusqu’à la fin du déménagement. Si vous ne pouvez pas en créer, prévenez la personne qui vous a envoyé ce lien. Cet essai n’a pas été compté.

## The confirmation

done-title = Merci
done-heading = Merci, c’est terminé
done-lead = Le mot de passe de { $email } est chiffré et conservé pour le transfert.
done-next-steps = La suite
done-closing = Ce lien est maintenant utilisé et ne peut plus servir. Vous pouvez fermer cette page.

## Links that do not work (any more)

unknown-title = Lien non reconnu
unknown-text = Ce lien n’est pas valide. Vérifiez que vous avez ouvert le lien complet de votre message (un lien coupé sur deux lignes peut être tronqué), ou demandez-en un nouveau à la personne qui vous l’a envoyé.
used-title = Mot de passe déjà reçu
used-text = Un mot de passe a été reçu pour ce lien le { $date }. Vous n’avez rien d’autre à faire. Si ce n’est pas vous qui l’avez envoyé, prévenez immédiatement votre contact informatique.
used-text-undated = Un mot de passe a été reçu pour ce lien. Vous n’avez rien d’autre à faire. Si ce n’est pas vous qui l’avez envoyé, prévenez immédiatement votre contact informatique.
revoked-title = Lien retiré
revoked-text = Ce lien a été retiré par la personne qui l’a envoyé. Demandez-lui si vous devez encore envoyer votre mot de passe.
replaced-title = Ce lien a été remplacé par un lien plus récent
replaced-text = Ce lien a été remplacé par un lien plus récent pour la même boîte aux lettres ; il ne fonctionne donc plus. Si vous avez reçu un lien plus récent, utilisez-le ; sinon, demandez-en un nouveau à la personne qui vous a envoyé ce lien.
locked-title = Lien bloqué
locked-text = Ce lien a été bloqué après trop d’essais infructueux. Demandez-en un nouveau à la personne qui vous l’a envoyé.
expired-title = Lien expiré
expired-text = Ce lien a expiré. Demandez-en un nouveau à la personne qui vous l’a envoyé.
closed-title = Cette collecte est close
closed-text = Cette collecte est close. Si vous devez encore envoyer votre mot de passe, adressez-vous à { $org }. Ce lien n’accepte plus de mot de passe, et rien de ce qui y est envoyé désormais n’est conservé.
closed-text-no-org = Cette collecte est close. Si vous devez encore envoyer votre mot de passe, adressez-vous à la personne qui vous a envoyé ce lien. Ce lien n’accepte plus de mot de passe, et rien de ce qui y est envoyé désormais n’est conservé.

## The email that carries the link

email-subject = { $org } : votre boîte aux lettres passe à Microsoft 365
email-body =
    Bonjour { $name },

    { $org } transfère votre boîte aux lettres { $email } vers Microsoft 365. Pour copier les messages que vous avez déjà, le transfert a besoin, une seule fois, du mot de passe actuel de votre messagerie.

    Veuillez ouvrir ce lien et le saisir à cet endroit. Le lien fonctionne une fois, jusqu’au { $expires } :

    { $link }

    L’adresse du lien commence par { $link_start }. Votre mot de passe est chiffré dès que vous l’envoyez, sert uniquement à copier vos messages et sera supprimé après le transfert.

    { $org } ne vous demandera jamais votre mot de passe par e-mail, messagerie instantanée ou téléphone : uniquement par ce lien. Si vous n’attendiez pas ce message, ou pour toute question, n’ouvrez pas le lien et adressez-vous à :

    { $contact }


## Who is asking: a batch's contact and link prefix (shown only when the admin set them)

brand-contact-heading = Votre contact pour ce transfert
brand-contact-phone = Téléphone :
brand-contact-email = E-mail :
brand-link-prefix = Notre lien commence toujours par { $prefix }. Ne saisissez votre mot de passe sur aucune autre adresse.
brand-not-expecting = Vous n’attendiez pas ce message ? Ne saisissez rien et adressez-vous à { $contact }. Le service informatique ne vous demandera jamais votre mot de passe autrement.

## Refusals by the server's own layers, on /s/ pages

page-too-large-title = Trop de données
page-too-large-text = Ce qui a été envoyé dépasse ce que ce formulaire accepte (un mot de passe compte au plus 1024 octets). Rien n’a été enregistré et votre lien fonctionne toujours ; veuillez revenir en arrière et réessayer.
page-timeout-title = Cela a pris trop de temps
page-timeout-text = Votre navigateur a mis trop de temps à envoyer le formulaire. Rien n’a été enregistré et votre lien fonctionne toujours ; veuillez réessayer.
page-bad-request-title = Demande non comprise
page-bad-request-text = Cette demande n’a pas pu être comprise. Rien n’a été modifié ; veuillez ouvrir à nouveau votre lien.
page-server-error-title = Un problème est survenu
page-server-error-text = Cette demande n’a pas pu aboutir. Rien n’a été enregistré ; veuillez réessayer dans une minute.
page-cannot-save-title = Nous n’avons pas pu l’enregistrer
page-cannot-save-text = Rien n’a été modifié ni utilisé : votre lien fonctionne toujours et rien de ce que vous avez envoyé n’a été conservé. Le serveur ne peut rien enregistrer pour le moment ; veuillez réessayer dans quelques minutes.

## Les issues : « Je ne connais pas mon mot de passe », « J’ai besoin d’aide », « Ce n’était pas moi »

ways-dont-know = Je ne connais pas mon mot de passe
ways-not-me = Ce n’était pas moi / Je ne m’y attendais pas
ways-need-help = Dire à l’informatique que j’ai besoin d’aide
ways-back = Retour au formulaire
dont-know-title = Si vous ne connaissez pas votre mot de passe
dont-know-saved = Votre mot de passe est peut-être enregistré sur votre téléphone (dans les réglages du compte de l’application de messagerie), dans Outlook sur votre ordinateur ou dans le gestionnaire de mots de passe de votre navigateur.
dont-know-reset = Si vous ne le trouvez pas, demandez un nouveau mot de passe à { $org }, puis revenez à ce lien et saisissez le nouveau ici.
dont-know-stuck = Toujours bloqué ? Dites à l’informatique que vous avez besoin d’aide : elle vous contactera. Votre lien reste valable.
help-title = Dire à l’informatique que vous avez besoin d’aide
help-text = L’informatique verra que vous avez besoin d’aide pour le mot de passe de { $email } et vous contactera. Votre lien reste valable : vous pourrez encore l’utiliser plus tard.
help-text-new-link = L’informatique verra que vous avez besoin d’aide pour le mot de passe de { $email } et vous contactera ; ce lien n’accepte plus de mot de passe, elle vous en enverra donc un nouveau si nécessaire.
help-confirm = Oui, je veux que l’informatique me contacte au sujet de mon mot de passe
help-submit = Prévenir l’informatique
help-unconfirmed = Rien n’a été envoyé. Si vous voulez que l’informatique vous contacte, cochez d’abord la case, puis appuyez sur le bouton.
help-done-title = L’informatique sait que vous avez besoin d’aide
help-done-emailed = Nous avons prévenu l’informatique par e-mail. Elle vous contactera.
help-done-console = L’informatique verra votre demande dans la console de passdrop et vous contactera.
help-done-link = Votre lien reste valable : une fois votre mot de passe en main, rouvrez votre lien et saisissez-le.
not-me-title = Vous ne vous y attendiez pas ?
not-me-text = Si vous n’attendiez pas de demande du mot de passe de { $email }, dites-le ici à l’informatique. Le lien est désactivé immédiatement, personne ne peut plus l’utiliser, et l’informatique vous contactera.
not-me-confirm = Oui, désactiver ce lien et prévenir l’informatique
not-me-submit = Désactiver et prévenir l’informatique
not-me-unconfirmed = Rien n’a été modifié. Si vous voulez signaler ce lien, cochez d’abord la case, puis appuyez sur le bouton.
not-me-done-title = Merci de nous avoir prévenus
not-me-done-off = Ce lien est maintenant désactivé : personne ne peut l’utiliser. Rien n’a été envoyé avec lui.
not-me-done-used = Ce lien est maintenant désactivé. Un mot de passe avait déjà été reçu avec lui ; l’informatique le vérifiera avant de l’utiliser.
not-me-done-emailed = Nous avons prévenu l’informatique par e-mail. Elle vous contactera ; vous n’avez rien d’autre à faire.
not-me-done-console = L’informatique verra votre signalement dans la console de passdrop et vous contactera ; vous n’avez rien d’autre à faire.
not-me-done-advice = Ne saisissez votre mot de passe sur aucune page que vous n’attendiez pas, et ne répondez pas au message contenant le lien.
page-forbidden-title = Demande refusée
page-forbidden-text = Ce formulaire ne peut être envoyé que depuis sa propre page. Rouvrez votre lien et envoyez le formulaire depuis celle-ci ; rien n’a été modifié.
page-too-many-title = Trop de demandes
page-too-many-text = Trop de demandes sont venues de votre réseau en peu de temps. Attendez une minute et réessayez ; rien de ce que vous avez envoyé n’a été perdu ni utilisé.
