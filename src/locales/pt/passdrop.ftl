# passdrop em português (do Brasil). Tratamento: você. Termos: link, senha, caixa de correio.

## The frame of every page

site-header = Coleta segura de senha
site-footer = Esta página não salva nada no seu navegador e não usa cookies nem rastreadores.
error-prefix = Erro:

## Dates

date-format = { $weekday }, { $day } de { $month }, às { $time } { $zone }
weekday-1 = segunda-feira
weekday-2 = terça-feira
weekday-3 = quarta-feira
weekday-4 = quinta-feira
weekday-5 = sexta-feira
weekday-6 = sábado
weekday-7 = domingo
month-1 = janeiro
month-2 = fevereiro
month-3 = março
month-4 = abril
month-5 = maio
month-6 = junho
month-7 = julho
month-8 = agosto
month-9 = setembro
month-10 = outubro
month-11 = novembro
month-12 = dezembro

## The collection form

form-title = Seu e-mail está mudando
form-asker-default = Sua equipe de TI
form-lead = { $org } vai transferir sua caixa de correio { $email } para o Microsoft 365. Para copiar o e-mail que você já tem, a transferência precisa, uma única vez, da sua senha de e-mail atual.
form-fact-encrypted = Ela é criptografada no momento em que você a envia; só a pessoa que faz a transferência pode descriptografá-la.
form-fact-deleted = É usada apenas para copiar seus e-mails existentes e excluída depois da transferência.
form-fact-once = Este link funciona uma única vez, e apenas até { $expires }.
form-password-label = Senha de e-mail atual
form-confirm-label = Digite a mesma senha novamente
form-show-password = Mostrar a senha
form-hide-password = Ocultar a senha
form-checked-hint = Digite-a exatamente como seu aplicativo de e-mail a usa. Antes de salvá-la, nós a verificamos com seu servidor de e-mail atual ({ $host }), para que um erro de digitação seja detectado agora e não no dia da transferência.
form-tries-left = { $count ->
    [one] Você tem mais uma tentativa antes que este link seja bloqueado.
   *[other] Você tem mais { $count } tentativas antes que este link seja bloqueado.
}
form-mail-client-legend = Como você lê seus e-mails hoje?
form-optional = (opcional)
mail-client-webmail = Em um navegador (webmail)
mail-client-several-devices = Em um aplicativo em vários dispositivos (por exemplo, celular e notebook)
mail-client-one-computer = No Outlook ou em outro programa, em um único computador
mail-client-not-sure = Não tenho certeza
form-submit = Enviar a senha com segurança
form-checking-wait = A verificação com seu servidor de e-mail pode levar até um minuto. Mantenha esta página aberta depois de apertar o botão.
form-checking = Verificando com seu servidor de e-mail…
form-not-expecting = Não esperava esta mensagem? Não digite nada e fale com seu contato de TI. A equipe de TI nunca pedirá sua senha de outra forma.

## Why a password was not accepted

error-not-a-form = O formulário não foi enviado da forma habitual. Recarregue a página e tente novamente.
error-not-utf8 = O formulário não foi enviado como texto UTF-8. Tente novamente em outro navegador.
error-repeated-field = O formulário foi enviado com um campo repetido. Recarregue a página e tente novamente.
error-missing-field = O formulário estava incompleto. Recarregue a página e tente novamente.
error-malformed = O formulário chegou danificado. Recarregue a página e tente novamente.
error-mail-client = Escolha uma das respostas sobre como você lê seus e-mails.
error-password-empty = Digite sua senha de e-mail atual.
error-password-too-long = Essa senha tem mais de 1024 bytes; verifique-a, por favor.
error-password-forbidden = Uma senha não pode conter quebras de linha nem caracteres NUL; digite-a novamente, por favor.
error-password-mismatch = As duas senhas não coincidem; digite-as novamente, por favor.
error-server-rejected = Seu servidor de e-mail atual ({ $host }) não aceitou esta senha para { $email }. Verifique-a e digite-a novamente, exatamente como seu aplicativo de e-mail a usa.
error-server-refused = Seu servidor de e-mail atual ({ $host }) recusou este login: «{ $reason }». Normalmente não se trata de um erro de digitação; avise a pessoa que lhe enviou este link.
error-already-checking = Uma senha para este link já está sendo verificada com seu servidor de e-mail. Aguarde alguns segundos e tente novamente.
error-try-later = Não foi possível verificar sua senha com seu servidor de e-mail atual agora, por isso nada foi salvo. Tente novamente dentro de alguns minutos; este link continua funcionando.
error-uncounted-cap = Não foi possível verificar sua senha com seu servidor de e-mail atual vezes demais na última hora, por isso nada foi salvo e nada foi verificado agora. Tente novamente dentro de uma hora; este link continua funcionando e nenhuma dessas tentativas foi contada.
error-app-password = Seu servidor de e-mail atual ({ $host }) pede para { $email } uma senha de app, não a sua senha habitual: esta conta usa a verificação em duas etapas. Crie uma senha de app nas configurações de segurança da sua conta (no Google: myaccount.google.com/apppasswords), digite-a aqui e guarde-a até a mudança terminar. Se não conseguir criar uma, avise quem lhe enviou este link. Esta tentativa não foi contada.

## The confirmation

done-title = Obrigado
done-heading = Obrigado, tudo pronto
done-lead = A senha de { $email } está criptografada e armazenada para a transferência.
done-next-steps = O que acontece a seguir
done-closing = Este link já foi usado e não pode ser usado novamente. Você pode fechar esta página.

## Links that do not work (any more)

unknown-title = Link não reconhecido
unknown-text = Este link não é válido. Verifique se abriu o link completo da sua mensagem (um link dividido em duas linhas pode ficar cortado) ou peça um novo a quem o enviou.
used-title = Senha já recebida
used-text = Foi recebida uma senha para este link em { $date }. Você não precisa fazer mais nada. Se não foi você quem a enviou, avise agora mesmo seu contato de TI.
used-text-undated = Foi recebida uma senha para este link. Você não precisa fazer mais nada. Se não foi você quem a enviou, avise agora mesmo seu contato de TI.
revoked-title = Link retirado
revoked-text = Este link foi retirado pela pessoa que o enviou. Pergunte a essa pessoa se você ainda precisa enviar sua senha.
replaced-title = Este link foi substituído por um mais recente
replaced-text = Este link foi substituído por um mais recente para a mesma caixa de correio e não funciona mais. Se você recebeu um link mais recente, use-o; se não, peça um novo à pessoa que lhe enviou este link.
locked-title = Link bloqueado
locked-text = Este link foi bloqueado após tentativas malsucedidas demais. Peça um novo a quem o enviou.
expired-title = Link expirado
expired-text = Este link expirou. Peça um novo a quem o enviou.
closed-title = Esta coleta foi encerrada
closed-text = Esta coleta foi encerrada. Se você ainda precisa enviar sua senha, entre em contato com { $org }. Este link não aceita mais senhas, e nada do que for enviado a ele agora é guardado.
closed-text-no-org = Esta coleta foi encerrada. Se você ainda precisa enviar sua senha, entre em contato com a pessoa que lhe enviou este link. Este link não aceita mais senhas, e nada do que for enviado a ele agora é guardado.

## The email that carries the link

email-subject = { $org }: sua caixa de correio vai para o Microsoft 365
email-body =
    Olá, { $name }:

    { $org } vai transferir sua caixa de correio { $email } para o Microsoft 365. Para copiar o e-mail que você já tem, a transferência precisa, uma única vez, da sua senha de e-mail atual.

    Abra este link e digite-a lá. O link funciona uma única vez, até { $expires }:

    { $link }

    O endereço do link começa por { $link_start }. Sua senha é criptografada no momento em que você a envia, usada apenas para copiar seus e-mails e excluída depois da transferência.

    { $org } nunca pedirá sua senha por e-mail, chat ou telefone, apenas através deste link. Se não esperava esta mensagem ou tiver alguma dúvida, não abra o link e fale com:

    { $contact }


## Who is asking: a batch's contact and link prefix (shown only when the admin set them)

brand-contact-heading = Seu contato para esta transferência
brand-contact-phone = Telefone:
brand-contact-email = E-mail:
brand-link-prefix = Nosso link sempre começa com { $prefix }. Não digite sua senha em nenhum outro endereço.
brand-not-expecting = Não esperava esta mensagem? Não digite nada e fale com { $contact }. A equipe de TI nunca pedirá sua senha de outra forma.

## Refusals by the server's own layers, on /s/ pages

page-too-large-title = Dados demais
page-too-large-text = O que foi enviado é maior do que este formulário aceita (uma senha pode ter no máximo 1024 bytes). Nada foi salvo e seu link continua funcionando; volte e tente novamente.
page-timeout-title = Isso demorou demais
page-timeout-text = Seu navegador demorou demais para enviar o formulário. Nada foi salvo e seu link continua funcionando; tente novamente.
page-bad-request-title = Solicitação não compreendida
page-bad-request-text = Não foi possível compreender esta solicitação. Nada foi alterado; abra seu link novamente.
page-server-error-title = Algo deu errado
page-server-error-text = Não foi possível concluir esta solicitação. Nada foi salvo; tente novamente em um minuto.
page-cannot-save-title = Não conseguimos salvar
page-cannot-save-text = Nada foi alterado nem usado: seu link continua funcionando e nada do que você enviou foi guardado. O servidor não consegue salvar nada no momento; tente novamente em alguns minutos.

## As saídas: «Não sei a minha palavra-passe», «Preciso de ajuda», «Não fui eu»

ways-dont-know = Não sei a minha palavra-passe
ways-not-me = Não fui eu / Não esperava isto
ways-need-help = Dizer à informática que preciso de ajuda
ways-back = Voltar ao formulário
dont-know-title = Se não sabe a sua palavra-passe
dont-know-saved = A sua palavra-passe pode estar guardada no telemóvel (nas definições da conta da aplicação de correio), no Outlook do seu computador ou no gestor de palavras-passe do seu navegador.
dont-know-reset = Se não a encontrar, peça uma nova palavra-passe a { $org }, depois volte a esta ligação e escreva aqui a nova.
dont-know-stuck = Continua sem conseguir? Diga à informática que precisa de ajuda; eles vão contactá-lo. A sua ligação continua a funcionar.
help-title = Dizer à informática que precisa de ajuda
help-text = A informática verá que precisa de ajuda com a palavra-passe de { $email } e vai contactá-lo. A sua ligação continua a funcionar: pode usá-la mais tarde.
help-text-new-link = A informática verá que precisa de ajuda com a palavra-passe de { $email } e vai contactá-lo; esta ligação já não aceita palavras-passe, por isso vão enviar-lhe uma nova se ainda precisar.
help-confirm = Sim, quero que a informática me contacte sobre a minha palavra-passe
help-submit = Avisar a informática
help-unconfirmed = Nada foi enviado. Se quer que a informática o contacte, marque primeiro a caixa e depois carregue no botão.
help-done-title = A informática sabe que precisa de ajuda
help-done-emailed = Avisámos a informática por e-mail. Vão contactá-lo.
help-done-console = A informática verá o seu pedido na consola do passdrop e vai contactá-lo.
help-done-link = A sua ligação continua a funcionar: quando tiver a palavra-passe, abra de novo a ligação e escreva-a lá.
not-me-title = Não esperava isto?
not-me-text = Se não esperava um pedido da palavra-passe de { $email }, diga-o aqui à informática. A ligação é desativada de imediato, para que ninguém a possa usar, e a informática vai contactá-lo.
not-me-confirm = Sim, desativar esta ligação e avisar a informática
not-me-submit = Desativar e avisar a informática
not-me-unconfirmed = Nada foi alterado. Se quer comunicar esta ligação, marque primeiro a caixa e depois carregue no botão.
not-me-done-title = Obrigado por nos avisar
not-me-done-off = Esta ligação está agora desativada: ninguém a pode usar. Nada foi enviado com ela.
not-me-done-used = Esta ligação está agora desativada. Já tinha sido recebida uma palavra-passe com ela; a informática vai verificá-la antes de a usar.
not-me-done-emailed = Avisámos a informática por e-mail. Vão contactá-lo; não precisa de fazer mais nada.
not-me-done-console = A informática verá o seu aviso na consola do passdrop e vai contactá-lo; não precisa de fazer mais nada.
not-me-done-advice = Não escreva a sua palavra-passe em páginas que não esperava e não responda à mensagem com a ligação.
page-forbidden-title = Pedido recusado
page-forbidden-text = Este formulário só pode ser enviado a partir da sua própria página. Abra de novo a sua ligação e envie o formulário a partir daí; nada foi alterado.
page-too-many-title = Demasiados pedidos
page-too-many-text = Chegaram demasiados pedidos da sua rede em pouco tempo. Aguarde um minuto e tente de novo; nada do que enviou foi perdido ou usado.
