# passdrop's user-facing texts in English: the reference catalogue. Every other
# language has every message here, with the same { $placeholders } (src/i18n.rs tests).
# Register: plain, polite, short sentences. Terms: link, password, mailbox.

## The frame of every page

site-header = Secure password collection
site-footer = This page stores nothing in your browser and uses no cookies or trackers.
error-prefix = Error:

## Dates: weekday, day, month and time; the time zone is named plainly.

date-format = { $weekday } { $day } { $month }, { $time } { $zone }
weekday-1 = Monday
weekday-2 = Tuesday
weekday-3 = Wednesday
weekday-4 = Thursday
weekday-5 = Friday
weekday-6 = Saturday
weekday-7 = Sunday
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

## The collection form

form-title = Your email is moving
form-asker-default = Your IT team
form-lead = { $org } is moving your mailbox { $email } to Microsoft 365. To copy the mail you already have, the move needs your current email password, once.
form-fact-encrypted = It is encrypted the moment you send it; only the person running the move can unlock it.
form-fact-deleted = It is used only to copy your existing mail, and deleted after the move.
form-fact-once = This link works once, and only until { $expires }.
form-password-label = Current email password
form-confirm-label = Type the same password again
form-show-password = Show password
form-hide-password = Hide password
form-checked-hint = Type it exactly as your email app uses it. Before saving it, we check it with your current mail server ({ $host }), so a typing mistake is caught now rather than on moving day.
form-tries-left = { $count ->
    [one] You have one more try before this link locks.
   *[other] You have { $count } more tries before this link locks.
}
form-mail-client-legend = How do you read your email today?
form-optional = (optional)
mail-client-webmail = In a web browser (webmail)
mail-client-several-devices = In an app on several devices (for example phone and laptop)
mail-client-one-computer = In Outlook or another program on one computer only
mail-client-not-sure = Not sure
form-submit = Send password securely
form-checking-wait = Checking with your mail server can take up to a minute. Please keep this page open after pressing the button.
form-checking = Checking with your mail server…
form-not-expecting = Not expecting this? Do not type anything; ask your IT contact. IT will never ask for your password any other way.

## Why a password was not accepted (the form is shown again)

error-not-a-form = The form was not sent the usual way. Please reload the page and try again.
error-not-utf8 = The form was not sent as UTF-8 text. Please try again in another browser.
error-repeated-field = The form was sent with a field repeated. Please reload the page and try again.
error-missing-field = The form was incomplete. Please reload the page and try again.
error-malformed = The form was garbled in transit. Please reload the page and try again.
error-mail-client = Please choose one of the answers about how you read your email.
error-password-empty = Please type your current email password.
error-password-too-long = That password is longer than 1024 bytes; please check it.
error-password-forbidden = A password cannot contain line breaks or NUL characters; please type it again.
error-password-mismatch = The two passwords do not match; please type them again.
error-server-rejected = Your current mail server ({ $host }) did not accept this password for { $email }. Check it and type it again, exactly as your email app uses it.
error-server-refused = Your current mail server ({ $host }) refused this login: “{ $reason }”. This is usually not a typing mistake; please tell whoever sent you this link.
error-already-checking = A password for this link is already being checked with your mail server. Please wait a few seconds, then try again.
error-try-later = Your password could not be checked with your current mail server just now, so nothing was saved. Please try again in a few minutes; this link still works.
error-uncounted-cap = Your password could not be checked with your current mail server too many times in the last hour, so nothing was saved and no check was made now. Please try again in an hour; this link still works and none of these tries was counted.
error-app-password = Your current mail server ({ $host }) asks for an app password for { $email }, not your usual password: this account uses two-step sign-in. Create an app password in your account’s security settings (for Google: myaccount.google.com/apppasswords), type it here, and keep it until the move is done. If you cannot create one, tell whoever sent you this link. This try was not counted.

## The confirmation

done-title = Thank you
done-heading = Thank you, you're done
done-lead = The password for { $email } is encrypted and stored for the move.
done-next-steps = What happens next
done-closing = This link is now used up and cannot be used again. You can close this page.

## Links that do not work (any more)

unknown-title = Link not recognised
unknown-text = This link is not valid. Check that you opened the whole link from your message (a link split over two lines may be cut short), or ask whoever sent it for a new one.
used-title = Password already received
used-text = A password was received for this link on { $date }. There is nothing more to do. If you did not send it, tell your IT contact now.
used-text-undated = A password was received for this link. There is nothing more to do. If you did not send it, tell your IT contact now.
revoked-title = Link withdrawn
revoked-text = This link was withdrawn by the person who sent it. Ask them if you still need to send your password.
replaced-title = This link was replaced by a newer one
replaced-text = This link was replaced by a newer one for the same mailbox, so it no longer works. If you were given a newer link, use that one; if not, ask whoever sent you this link for a new one.
locked-title = Link locked
locked-text = This link was locked after too many unsuccessful tries. Ask whoever sent it for a new one.
expired-title = Link expired
expired-text = This link has expired. Ask whoever sent it for a new one.
closed-title = This collection has closed
closed-text = This collection has closed; contact { $org } (whoever sent you this link) if you still need to send your password. This link no longer takes a password, and nothing sent to it now is kept.
closed-text-no-org = This collection has closed; contact whoever sent you this link if you still need to send your password. This link no longer takes a password, and nothing sent to it now is kept.

## The email that carries the link (the default message; an admin's own stays as written)

email-subject = { $org }: your mailbox moves to Microsoft 365
email-body =
    Hello { $name },

    { $org } is moving your mailbox { $email } to Microsoft 365. To copy the mail you already have, the move needs your current email password, once.

    Please open this link and type it there. The link works once, until { $expires }:

    { $link }

    The address of the link starts with { $link_start }. Your password is encrypted the moment you send it, used only to copy your mail, and deleted after the move.

    { $org } will never ask for your password by email, chat or phone: only through this link. If you did not expect this message, or have a question, do not open the link and ask:

    { $contact }


## Who is asking: a batch's contact and link prefix (shown only when the admin set them)

brand-contact-heading = Your contact for this move
brand-contact-phone = Phone:
brand-contact-email = Email:
brand-link-prefix = Our link always starts with { $prefix }. Do not type your password on any other address.
brand-not-expecting = Not expecting this? Do not type anything; ask { $contact }. IT will never ask for your password any other way.

## Refusals by the server's own layers, on /s/ pages

page-too-large-title = Too much data
page-too-large-text = What was sent is larger than this form accepts (a password can be at most 1024 bytes). Nothing was saved and your link still works; please go back and try again.
page-timeout-title = That took too long
page-timeout-text = Your browser took too long to send the form. Nothing was saved and your link still works; please try again.
page-bad-request-title = Request not understood
page-bad-request-text = This request could not be understood. Nothing was changed; please open your link again.
page-server-error-title = Something went wrong
page-server-error-text = This request could not be finished. Nothing was saved; please try again in a minute.
page-cannot-save-title = We could not save it
page-cannot-save-text = Nothing was changed and nothing was used up: your link still works, and nothing you sent was kept. The server cannot save anything for the moment; please try again in a few minutes.

## The user's ways out: "I don't know my password", "I need help", "This wasn't me"

ways-dont-know = I don't know my password
ways-not-me = This wasn't me / I didn't expect this
ways-need-help = Tell IT I need help
ways-back = Back to the form
dont-know-title = If you don't know your password
dont-know-saved = Your password may be saved on your phone (in the mail app's account settings), in Outlook on your computer, or in your browser's password manager.
dont-know-reset = If you cannot find it, ask { $org } for a new password, then come back to this link and type the new one here.
dont-know-stuck = Still stuck? Tell IT you need help, and they will contact you. Your link keeps working.
help-title = Tell IT you need help
help-text = IT will see that you need help with the password for { $email } and will contact you. Your link keeps working: you can still use it later.
help-text-new-link = IT will see that you need help with the password for { $email } and will contact you; this link no longer takes a password, so they will send you a new one if you still need it.
help-confirm = Yes, I want IT to contact me about my password
help-submit = Tell IT
help-unconfirmed = Nothing was sent. If you want IT to contact you, tick the box first, then press the button.
help-done-title = IT knows you need help
help-done-emailed = We have told IT by email. They will contact you.
help-done-console = IT will see your request in passdrop's console and contact you.
help-done-link = Your link still works: once you have your password, open your link again and type it there.
not-me-title = Didn't expect this?
not-me-text = If you did not expect a request for the password of { $email }, tell IT here. The link is switched off at once, so nobody can use it, and IT will contact you.
not-me-confirm = Yes, switch this link off and tell IT
not-me-submit = Switch off and tell IT
not-me-unconfirmed = Nothing was changed. If you want to report this link, tick the box first, then press the button.
not-me-done-title = Thank you for telling us
not-me-done-off = This link is now switched off: nobody can use it. Nothing was sent with it.
not-me-done-used = This link is now switched off. A password had already been received with it; IT will check it before using it.
not-me-done-emailed = We have told IT by email. They will contact you; you do not need to do anything else.
not-me-done-console = IT will see your report in passdrop's console and contact you; you do not need to do anything else.
not-me-done-advice = Do not type your password into any page you were not expecting, and do not reply to the message with the link.
page-forbidden-title = Request refused
page-forbidden-text = This form can only be sent from its own page. Please open your link again and send the form from there; nothing was changed.
page-too-many-title = Too many requests
page-too-many-text = Too many requests came from your network in a short time. Please wait a minute and try again; nothing you sent was lost or used.
