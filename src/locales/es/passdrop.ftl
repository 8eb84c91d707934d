# passdrop en español. Trato de usted. Términos: enlace, contraseña, buzón.

## The frame of every page

site-header = Recogida segura de contraseñas
site-footer = Esta página no guarda nada en su navegador y no utiliza cookies ni rastreadores.
error-prefix = Error:

## Dates

date-format = { $weekday } { $day } de { $month }, a las { $time } { $zone }
weekday-1 = lunes
weekday-2 = martes
weekday-3 = miércoles
weekday-4 = jueves
weekday-5 = viernes
weekday-6 = sábado
weekday-7 = domingo
month-1 = enero
month-2 = febrero
month-3 = marzo
month-4 = abril
month-5 = mayo
month-6 = junio
month-7 = julio
month-8 = agosto
month-9 = septiembre
month-10 = octubre
month-11 = noviembre
month-12 = diciembre

## The collection form

form-title = Su correo electrónico se traslada
form-asker-default = Su equipo de informática
form-lead = { $org } va a trasladar su buzón { $email } a Microsoft 365. Para copiar el correo que ya tiene, el traslado necesita, una sola vez, la contraseña actual de su correo electrónico.
form-fact-encrypted = Se cifra en el momento en que la envía; solo la persona que realiza el traslado puede descifrarla.
form-fact-deleted = Se utiliza únicamente para copiar su correo existente y se elimina después del traslado.
form-fact-once = Este enlace funciona una sola vez y solo hasta el { $expires }.
form-password-label = Contraseña actual del correo electrónico
form-confirm-label = Escriba de nuevo la misma contraseña
form-show-password = Mostrar la contraseña
form-hide-password = Ocultar la contraseña
form-checked-hint = Escríbala exactamente como la utiliza su aplicación de correo. Antes de guardarla, la comprobamos con su servidor de correo actual ({ $host }), para detectar ahora un error de escritura y no el día del traslado.
form-tries-left = { $count ->
    [one] Le queda un intento antes de que este enlace se bloquee.
   *[other] Le quedan { $count } intentos antes de que este enlace se bloquee.
}
form-mail-client-legend = ¿Cómo lee hoy su correo electrónico?
form-optional = (opcional)
mail-client-webmail = En un navegador web (correo web)
mail-client-several-devices = En una aplicación en varios dispositivos (por ejemplo, teléfono y portátil)
mail-client-one-computer = En Outlook u otro programa, en un solo ordenador
mail-client-not-sure = No estoy seguro
form-submit = Enviar la contraseña de forma segura
form-checking-wait = La comprobación con su servidor de correo puede tardar hasta un minuto. Mantenga esta página abierta después de pulsar el botón.
form-checking = Comprobando con su servidor de correo…
form-not-expecting = ¿No esperaba este mensaje? No escriba nada y consulte a su contacto de informática. El departamento de informática nunca le pedirá su contraseña de otra manera.

## Why a password was not accepted

error-not-a-form = El formulario no se envió de la forma habitual. Vuelva a cargar la página e inténtelo de nuevo.
error-not-utf8 = El formulario no se envió como texto UTF-8. Inténtelo de nuevo con otro navegador.
error-repeated-field = El formulario se envió con un campo repetido. Vuelva a cargar la página e inténtelo de nuevo.
error-missing-field = El formulario estaba incompleto. Vuelva a cargar la página e inténtelo de nuevo.
error-malformed = El formulario llegó dañado. Vuelva a cargar la página e inténtelo de nuevo.
error-mail-client = Elija una de las respuestas sobre cómo lee su correo electrónico.
error-password-empty = Escriba la contraseña actual de su correo electrónico.
error-password-too-long = Esa contraseña supera los 1024 bytes; compruébela, por favor.
error-password-forbidden = Una contraseña no puede contener saltos de línea ni caracteres NUL; escríbala de nuevo, por favor.
error-password-mismatch = Las dos contraseñas no coinciden; escríbalas de nuevo, por favor.
error-server-rejected = Su servidor de correo actual ({ $host }) no aceptó esta contraseña para { $email }. Compruébela y escríbala de nuevo, exactamente como la utiliza su aplicación de correo.
error-server-refused = Su servidor de correo actual ({ $host }) rechazó este inicio de sesión: «{ $reason }». Normalmente no se trata de un error de escritura; avise a la persona que le envió este enlace.
error-already-checking = Ya se está comprobando una contraseña para este enlace con su servidor de correo. Espere unos segundos y vuelva a intentarlo.
error-try-later = Ahora mismo no se ha podido comprobar su contraseña con su servidor de correo actual, así que no se ha guardado nada. Inténtelo de nuevo dentro de unos minutos; este enlace sigue funcionando.
error-uncounted-cap = Su contraseña no se ha podido comprobar con su servidor de correo actual demasiadas veces en la última hora, así que no se ha guardado nada ni se ha comprobado ahora. Inténtelo de nuevo dentro de una hora; este enlace sigue funcionando y ninguno de estos intentos se ha contado.
error-app-password = Su servidor de correo actual ({ $host }) pide para { $email } una contraseña de aplicación, no su contraseña habitual: esta cuenta usa la verificación en dos pasos. Cree una contraseña de aplicación en la configuración de seguridad de su cuenta (en Google: myaccount.google.com/apppasswords), escríbala aquí y consérvela hasta que termine el traslado. Si no puede crear una, avise a quien le envió este enlace. Este intento no se ha contado.

## The confirmation

done-title = Gracias
done-heading = Gracias, ya ha terminado
done-lead = La contraseña de { $email } está cifrada y guardada para el traslado.
done-next-steps = Próximos pasos
done-closing = Este enlace ya se ha utilizado y no puede volver a usarse. Puede cerrar esta página.

## Links that do not work (any more)

unknown-title = Enlace no reconocido
unknown-text = Este enlace no es válido. Compruebe que ha abierto el enlace completo de su mensaje (un enlace partido en dos líneas puede quedar cortado) o pida uno nuevo a quien se lo envió.
used-title = Contraseña ya recibida
used-text = Se recibió una contraseña para este enlace el { $date }. No tiene que hacer nada más. Si no la envió usted, avise ahora mismo a su contacto de informática.
used-text-undated = Se recibió una contraseña para este enlace. No tiene que hacer nada más. Si no la envió usted, avise ahora mismo a su contacto de informática.
revoked-title = Enlace retirado
revoked-text = La persona que envió este enlace lo ha retirado. Pregúntele si todavía necesita enviar su contraseña.
replaced-title = Este enlace se ha sustituido por uno más reciente
replaced-text = Este enlace se ha sustituido por uno más reciente para el mismo buzón, así que ya no funciona. Si ha recibido un enlace más reciente, utilícelo; si no, pida uno nuevo a la persona que le envió este enlace.
locked-title = Enlace bloqueado
locked-text = Este enlace se bloqueó tras demasiados intentos fallidos. Pida uno nuevo a quien se lo envió.
expired-title = Enlace caducado
expired-text = Este enlace ha caducado. Pida uno nuevo a quien se lo envió.
closed-title = Esta recogida está cerrada
closed-text = Esta recogida está cerrada. Si todavía necesita enviar su contraseña, póngase en contacto con { $org }. Este enlace ya no acepta contraseñas y no se guarda nada de lo que se envíe ahora.
closed-text-no-org = Esta recogida está cerrada. Si todavía necesita enviar su contraseña, póngase en contacto con la persona que le envió este enlace. Este enlace ya no acepta contraseñas y no se guarda nada de lo que se envíe ahora.

## The email that carries the link

email-subject = { $org }: su buzón se traslada a Microsoft 365
email-body =
    Hola, { $name }:

    { $org } va a trasladar su buzón { $email } a Microsoft 365. Para copiar el correo que ya tiene, el traslado necesita, una sola vez, la contraseña actual de su correo electrónico.

    Abra este enlace y escríbala allí. El enlace funciona una sola vez, hasta el { $expires }:

    { $link }

    La dirección del enlace empieza por { $link_start }. Su contraseña se cifra en el momento en que la envía, se utiliza únicamente para copiar su correo y se elimina después del traslado.

    { $org } nunca le pedirá su contraseña por correo electrónico, chat o teléfono: solo a través de este enlace. Si no esperaba este mensaje o tiene alguna pregunta, no abra el enlace y consulte a:

    { $contact }


## Who is asking: a batch's contact and link prefix (shown only when the admin set them)

brand-contact-heading = Su contacto para este traslado
brand-contact-phone = Teléfono:
brand-contact-email = Correo electrónico:
brand-link-prefix = Nuestro enlace siempre empieza por { $prefix }. No escriba su contraseña en ninguna otra dirección.
brand-not-expecting = ¿No esperaba este mensaje? No escriba nada y consulte a { $contact }. El departamento de informática nunca le pedirá su contraseña de otra manera.

## Refusals by the server's own layers, on /s/ pages

page-too-large-title = Demasiados datos
page-too-large-text = Lo enviado supera lo que admite este formulario (una contraseña puede tener como máximo 1024 bytes). No se ha guardado nada y su enlace sigue funcionando; vuelva atrás e inténtelo de nuevo.
page-timeout-title = Ha tardado demasiado
page-timeout-text = Su navegador ha tardado demasiado en enviar el formulario. No se ha guardado nada y su enlace sigue funcionando; inténtelo de nuevo.
page-bad-request-title = Solicitud no comprendida
page-bad-request-text = No se ha podido comprender esta solicitud. No se ha cambiado nada; vuelva a abrir su enlace.
page-server-error-title = Algo ha fallado
page-server-error-text = No se ha podido completar esta solicitud. No se ha guardado nada; inténtelo de nuevo dentro de un minuto.
page-cannot-save-title = No hemos podido guardarlo
page-cannot-save-text = No se ha cambiado ni gastado nada: su enlace sigue funcionando y no se ha conservado nada de lo que envió. El servidor no puede guardar nada en este momento; inténtelo de nuevo dentro de unos minutos.

## Las salidas: «No sé mi contraseña», «Necesito ayuda», «No fui yo»

ways-dont-know = No sé mi contraseña
ways-not-me = No fui yo / No esperaba esto
ways-need-help = Decir a informática que necesito ayuda
ways-back = Volver al formulario
dont-know-title = Si no sabe su contraseña
dont-know-saved = Puede que su contraseña esté guardada en su teléfono (en los ajustes de la cuenta de la aplicación de correo), en Outlook en su ordenador o en el gestor de contraseñas de su navegador.
dont-know-reset = Si no la encuentra, pida una contraseña nueva a { $org }, vuelva después a este enlace y escriba aquí la nueva.
dont-know-stuck = ¿Sigue sin poder? Diga a informática que necesita ayuda y se pondrán en contacto con usted. Su enlace sigue funcionando.
help-title = Decir a informática que necesita ayuda
help-text = Informática verá que necesita ayuda con la contraseña de { $email } y se pondrá en contacto con usted. Su enlace sigue funcionando: podrá usarlo más tarde.
help-text-new-link = Informática verá que necesita ayuda con la contraseña de { $email } y se pondrá en contacto con usted; este enlace ya no acepta contraseñas, así que le enviarán uno nuevo si todavía lo necesita.
help-confirm = Sí, quiero que informática me contacte por mi contraseña
help-submit = Avisar a informática
help-unconfirmed = No se ha enviado nada. Si quiere que informática le contacte, marque primero la casilla y después pulse el botón.
help-done-title = Informática sabe que necesita ayuda
help-done-emailed = Hemos avisado a informática por correo. Se pondrán en contacto con usted.
help-done-console = Informática verá su petición en la consola de passdrop y se pondrá en contacto con usted.
help-done-link = Su enlace sigue funcionando: cuando tenga su contraseña, abra de nuevo el enlace y escríbala allí.
not-me-title = ¿No esperaba esto?
not-me-text = Si no esperaba que le pidieran la contraseña de { $email }, dígalo aquí a informática. El enlace se desactiva en el acto, así nadie puede usarlo, e informática se pondrá en contacto con usted.
not-me-confirm = Sí, desactivar este enlace y avisar a informática
not-me-submit = Desactivar y avisar a informática
not-me-unconfirmed = No se ha cambiado nada. Si quiere informar de este enlace, marque primero la casilla y después pulse el botón.
not-me-done-title = Gracias por avisarnos
not-me-done-off = Este enlace está desactivado: nadie puede usarlo. No se envió nada con él.
not-me-done-used = Este enlace está desactivado. Ya se había recibido una contraseña con él; informática la comprobará antes de usarla.
not-me-done-emailed = Hemos avisado a informática por correo. Se pondrán en contacto con usted; no tiene que hacer nada más.
not-me-done-console = Informática verá su aviso en la consola de passdrop y se pondrá en contacto con usted; no tiene que hacer nada más.
not-me-done-advice = No escriba su contraseña en ninguna página que no esperaba y no responda al mensaje con el enlace.
page-forbidden-title = Solicitud rechazada
page-forbidden-text = Este formulario solo puede enviarse desde su propia página. Abra de nuevo su enlace y envíe el formulario desde allí; no se ha cambiado nada.
page-too-many-title = Demasiadas solicitudes
page-too-many-text = Han llegado demasiadas solicitudes desde su red en poco tiempo. Espere un minuto y vuelva a intentarlo; nada de lo que envió se ha perdido ni usado.
