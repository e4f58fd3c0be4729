"""A synthetic corpus in the site's shapes, for benchmarks and scale tests.

    python -m pipeline.synth --pages 10000 --batches 4 --html-share 0.3 \\
        --rescrape-share 0.05 --changed-share 0.02 --seed 1 /tmp/corpus

writes OUT_DIR/<batch>/<page>.txt|.html, one folder per scrape batch (named by date, so name order is
scrape order), each finished with a `_SUCCESS` marker. Pure Python, no Dagster; deterministic: the same
arguments give byte-identical files.

Every page is made from templates and phrase lists written for this project (no sentence of the real
site): a category line, sometimes a lone `...` line, the consultation in one of the observed shapes
(question then `(背景)` narrative, narrative ending in the question, a quoted question, a topic line only,
a title then the story), an answer of 3-8 headed sections in one heading style, and the
`おすすめ法律相談` block of 10 related questions with teasers cut at 39 characters plus `...`. The text
dump of a page is 3-10 KB. HTML pages carry the usual chrome (head, scripts, styles, header, global
nav, breadcrumb, share buttons, cookie banner, footer) and a canonical link with a `<14 digits>-<n>` id.

Of the `--pages` files, a share are re-scrapes (a page from an earlier batch again, byte-identical) and
a share are changed pages (an HTML page from an earlier batch again, same URL, changed answer); only
batches after the first can hold them, and only HTML pages can change (a text dump has no URL, so
changed content would be a new page).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import datetime as dt
import html
import random
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.core.batches import SUCCESS_MARKER

SITE = "https://houritsu-soudan.example"
SITE_NAME = "法律相談ナビ"
RELATED_COUNT = 10
TEASER_CHARS = 39
MIN_TEXT_BYTES, MAX_TEXT_BYTES = 3_000, 10_000
FIRST_BATCH_DATE = dt.date(2024, 1, 1)
FIRST_POST = dt.datetime(2021, 4, 1, 9, 0, 0)

# ---------------------------------------------------------------------------------------------------
# Phrase lists. Slots: {who} a person ("Kさん"), {years} {months} {amount} {count} {days} numbers.
# situations: narrative sentences (never questions); questions: the asker's question;
# topics: noun phrases (titles, related questions); heads: section headings (short, no punctuation);
# points: answer sentences.


@dataclasses.dataclass(frozen=True)
class Category:
    slug: str
    label: str
    topics: tuple[str, ...]
    situations: tuple[str, ...]
    questions: tuple[str, ...]
    heads: tuple[str, ...]
    points: tuple[str, ...]


CATEGORIES = (
    Category(
        "souzoku",
        "相続・遺言",
        ("遺産分割の進め方", "自筆の遺言書の扱い", "相続放棄の期限", "実家の名義変更", "預金の払戻し", "遺留分の請求"),
        (
            "{who}の父が{months}か月前に亡くなり、相続人は{who}と兄弟の三人です。",
            "父名義の自宅と預貯金がありますが、兄が遺産をすべて管理していて内容を教えてくれません。",
            "母の遺品を整理していたところ、封をされた手書きの遺言書が見つかりました。",
            "亡くなった叔父には子どもがおらず、{who}が相続人になると親族から連絡を受けました。",
            "相続登記をしないまま{years}年が経ち、固定資産税の通知だけが毎年届いています。",
            "葬儀費用の{amount}を立て替えたものの、ほかの相続人が負担に応じてくれません。",
            "父には生前に多額の借金があったことが、死後に届いた督促状で分かりました。",
            "遺言書には長男にすべてを相続させると書かれており、{who}には何も残されていません。",
        ),
        (
            "この場合、{who}はどのように手続きを進めればよいのでしょうか?",
            "遺産の内容を開示してもらうにはどうすればよいですか?",
            "見つかった遺言書はその場で開けてもよいのでしょうか?",
            "今からでも相続放棄をすることはできますか?",
            "自分の取り分を請求する方法を教えてください。",
        ),
        ("遺産分割協議の流れ", "遺言書の検認", "相続放棄の手続き", "遺留分侵害額請求", "相続登記の義務", "相続財産の調査"),
        (
            "相続が始まると、被相続人の財産は遺産分割が終わるまで相続人全員の共有となります。",
            "遺産分割協議は相続人全員で行う必要があり、一人でも欠けた協議は無効とされます。",
            "自筆証書遺言は、法務局に保管されていたものを除き、家庭裁判所で検認を受けなければなりません。",
            "相続放棄は、相続の開始を知った時から三か月以内に家庭裁判所へ申述するのが原則です。",
            "借金の存在を後から知った場合には、その時点から期間を数えることが認められる場合もあります。",
            "兄弟姉妹以外の相続人には遺留分があり、遺言によっても最低限の取り分は奪われません。",
            "遺留分侵害額請求は、相続の開始と侵害を知った時から一年以内に意思表示をする必要があります。",
            "相続登記は義務化されており、正当な理由なく放置すると過料の対象となるおそれがあります。",
            "預貯金は一定額までであれば、遺産分割の前でも各相続人が単独で払戻しを受けられます。",
            "相続財産を調べるには、金融機関への残高証明の請求や名寄帳の取得が役に立ちます。",
        ),
    ),
    Category(
        "rikon",
        "離婚・男女問題",
        ("養育費の取り決め", "財産分与の範囲", "別居中の生活費", "親権の判断基準", "面会交流の頻度", "住宅ローンの扱い"),
        (
            "{who}は結婚して{years}年になりますが、半年ほど前から夫と別居しています。",
            "夫は家を出て行ってから、生活費を一切渡してくれなくなりました。",
            "妻から突然離婚届を渡され、子どもの親権は自分が持つと言われています。",
            "結婚後に購入した自宅には、まだ{amount}の住宅ローンが残っています。",
            "元夫とは協議離婚をしましたが、養育費の約束を書面に残していませんでした。",
            "子どもとの面会を約束していたのに、ここ{months}か月は会わせてもらえていません。",
            "相手は再婚しており、今後の支払いを減らしたいと連絡してきました。",
        ),
        (
            "離婚に向けて、{who}はまず何をしておくべきでしょうか?",
            "別居中の生活費を請求することはできますか?",
            "親権はどのような点から判断されるのでしょうか?",
            "住宅ローンが残った家はどう分ければよいですか?",
            "約束した養育費を確実に払ってもらう方法を教えてください。",
        ),
        ("婚姻費用の請求", "財産分与の考え方", "親権者の決め方", "養育費の算定", "面会交流の取り決め", "公正証書の作成"),
        (
            "別居中でも夫婦には互いに生活を支え合う義務があり、収入の多い側は婚姻費用を負担します。",
            "婚姻費用は、家庭裁判所が公表している算定表を目安に、双方の収入から金額を定めます。",
            "財産分与の対象は、名義にかかわらず婚姻中に夫婦が協力して築いた財産です。",
            "結婚前からの預金や親から相続した財産は特有財産とされ、原則として分与の対象外です。",
            "親権の判断では、これまでの監護の実績や子どもの年齢、本人の意思などが考慮されます。",
            "養育費の取り決めを公正証書にしておけば、不払いの際に裁判をせずに差押えができます。",
            "面会交流は子どもの利益のための制度であり、親の感情だけを理由に拒むことは難しいとされます。",
            "住宅ローンが残る不動産は、売却した場合の価格とローン残高を比べて扱いを考えます。",
            "調停では調停委員が間に入るため、相手と直接顔を合わせずに話し合いを進められます。",
            "離婚後二年が過ぎると財産分与を請求できなくなるため、早めに手続きを検討しましょう。",
        ),
    ),
    Category(
        "roudou",
        "労働問題",
        ("残業代の未払い", "試用期間中の解雇", "有給休暇の取得", "上司からのパワハラ", "退職勧奨への対応", "固定残業代の有効性"),
        (
            "{who}は入社して{years}年目の会社員で、毎月{count}時間ほど残業をしています。",
            "求人票には固定残業代込みと書かれていましたが、超過分が支払われたことはありません。",
            "試用期間の終わりに、能力不足を理由として本採用を見送ると告げられました。",
            "上司から同僚の前で繰り返し大声で叱責され、眠れない日が続いています。",
            "有給休暇を申請したところ、繁忙期だから認めないと言われてしまいました。",
            "人事部との面談で、自分から退職届を出すように何度も求められています。",
            "会社は勤怠を手書きで管理しており、実際の退勤時刻は記録されていません。",
        ),
        (
            "未払いの残業代を請求することはできますか?",
            "この解雇は法的に認められるものなのでしょうか?",
            "会社の対応に{who}はどう向き合えばよいでしょうか?",
            "退職を拒み続けても問題はないのでしょうか?",
            "証拠を残すために何をしておけばよいか教えてください。",
        ),
        ("労働時間の記録", "固定残業代の要件", "解雇の有効性", "パワハラの判断基準", "有給休暇の時季変更権", "労働基準監督署への相談"),
        (
            "会社は労働時間を客観的な方法で把握する義務を負っており、記録がないことは労働者の不利になりません。",
            "固定残業代が有効とされるには、通常の賃金と残業代部分が明確に区別されている必要があります。",
            "固定残業代で想定した時間を超えて働いた場合には、差額を請求することができます。",
            "試用期間中であっても、解雇には客観的に合理的な理由と社会通念上の相当性が求められます。",
            "パワハラに当たるかどうかは、業務上の必要性や言動の態様、継続性などを総合して判断されます。",
            "有給休暇は労働者が時季を指定して取得するもので、会社が拒めるのは事業の正常な運営を妨げる場合に限られます。",
            "退職勧奨に応じるかどうかは本人の自由であり、断った後も繰り返し迫る行為は違法となり得ます。",
            "残業代の請求権は三年で時効にかかるため、古い月の分から順に請求できなくなっていきます。",
            "パソコンのログや交通系カードの履歴も、実際の労働時間を示す証拠として使えることがあります。",
            "労働基準監督署は法令違反について会社に是正を指導できますが、個別の金額交渉はしてくれません。",
        ),
    ),
    Category(
        "fudousan",
        "不動産・賃貸",
        ("原状回復費用の負担", "更新料の支払い", "上階からの騒音", "家賃の値上げ", "敷金の返還", "雨漏りの修繕"),
        (
            "{who}は賃貸マンションに{years}年住み、先月退去しました。",
            "管理会社から、壁紙とフローリングの全面張替え費用として{amount}を請求されています。",
            "契約の更新にあたり、家賃を月{amount}上げると一方的に通知されました。",
            "上の階の住人が深夜まで物音を立てるため、何度も管理会社に苦情を伝えています。",
            "入居時に預けた敷金が、退去から{months}か月たっても返ってきません。",
            "大雨のたびに天井から雨漏りがしますが、大家は修理に応じてくれません。",
            "契約書には、退去時のハウスクリーニング代を借主が負担するという特約があります。",
        ),
        (
            "この請求にはすべて応じなければならないのでしょうか?",
            "家賃の値上げを拒むことはできますか?",
            "敷金を返してもらうにはどうすればよいですか?",
            "{who}としてはどのような対応が取れるでしょうか?",
            "修繕をしてもらうための方法を教えてください。",
        ),
        ("原状回復の範囲", "特約の有効性", "賃料増額の協議", "敷金返還の流れ", "修繕義務の所在", "受忍限度の考え方"),
        (
            "通常の使用で生じた汚れや経年による劣化は、借主が原状回復する必要のないものとされています。",
            "国土交通省のガイドラインでは、壁紙の価値は六年程度で大きく減るものとして扱われています。",
            "借主に不利な特約は、内容が具体的に示され、借主が認識して合意した場合に限って有効とされます。",
            "家賃の増額は当事者の合意が原則であり、合意できなければ調停や訴訟で相当な額を決めます。",
            "増額に争いがある間は、借主が相当と考える額を支払っていれば契約違反にはなりません。",
            "敷金は、未払いの家賃や借主の負担すべき修繕費を差し引いた残りが返還されるのが原則です。",
            "建物の修繕は貸主の義務であり、放置されて生活に支障が出る場合は家賃の減額を求められることもあります。",
            "騒音が違法となるかは、音の大きさや時間帯、継続期間から受忍限度を超えるかで判断されます。",
            "退去の立会いでは、部屋の状態を写真に残し、その場で署名を求められても内容を確認してから応じましょう。",
            "少額訴訟は六十万円以下の金銭請求に使える手続きで、原則として一回の期日で審理が終わります。",
        ),
    ),
    Category(
        "koutsujiko",
        "交通事故",
        ("出会い頭の事故の過失割合", "後遺障害の認定", "自転車事故の賠償", "休業損害の計算", "物損事故の修理費", "当て逃げの補償"),
        (
            "{who}は見通しの悪い交差点で、右から来た車と出会い頭に衝突しました。",
            "信号待ちで停車していたところ、後ろから来た車に追突されました。",
            "自転車で歩道を走っていた際に歩行者と接触し、相手にけがをさせてしまいました。",
            "事故から{months}か月通院を続けていますが、首の痛みが取れません。",
            "相手の保険会社から、過失割合は七対三だと一方的に伝えられています。",
            "けがのため{days}日間仕事を休みましたが、休業中の収入の補償がまだ決まっていません。",
            "駐車場に止めていた車に傷がついており、相手は名乗らずに立ち去っていました。",
        ),
        (
            "提示された過失割合に納得できない場合、どうすればよいでしょうか?",
            "後遺障害の認定を受けるにはどうすればよいですか?",
            "{who}が負う賠償責任はどの程度になるのでしょうか?",
            "休んだ分の収入は補償してもらえますか?",
            "保険会社との交渉で気をつける点を教えてください。",
        ),
        ("過失割合の決まり方", "後遺障害等級の認定", "休業損害の算定", "物損の賠償範囲", "自転車保険の役割", "示談交渉の進め方"),
        (
            "過失割合は、過去の裁判例を類型ごとに整理した基準をもとに、事故の状況に応じて修正して決まります。",
            "ドライブレコーダーの映像や実況見分調書は、事故の状況を示す重要な資料になります。",
            "後遺障害の等級は、治療を続けても症状が改善しなくなった時点で申請するのが一般的です。",
            "被害者請求の方法をとれば、認定に必要な資料を自分で選んで提出することができます。",
            "休業損害は、事故前三か月の収入をもとに一日あたりの金額を計算するのが通常です。",
            "自転車の事故でも損害賠償の責任は自動車と同じように生じ、高額になった裁判例もあります。",
            "物損事故では、修理費が車の時価を超える場合、時価額までしか賠償されないのが原則です。",
            "相手が分からない当て逃げでは、自分の車両保険を使えるかどうかを保険会社に確認しましょう。",
            "示談書に一度署名すると、後から追加の請求をすることは原則として難しくなります。",
            "保険会社の提示額は自社の基準によるもので、裁判所の基準より低いことが少なくありません。",
        ),
    ),
    Category(
        "shouhisha",
        "消費者トラブル",
        ("子どものオンラインゲーム課金", "訪問販売の屋根修理", "フリマアプリの偽物", "定期購入の解約", "エステの中途解約", "ネット通販の返品"),
        (
            "小学生の子どもが、{who}のスマートフォンでゲームに{amount}も課金していました。",
            "突然訪ねてきた業者に屋根が壊れていると言われ、その場で修理の契約をしてしまいました。",
            "フリマアプリで購入したブランドのバッグが、鑑定の結果偽物だと分かりました。",
            "初回だけ安いと思って申し込んだサプリメントが、実は定期購入の契約になっていました。",
            "エステの回数券を{count}回分購入しましたが、引っ越しのため通えなくなりました。",
            "ネット通販で注文した家電が説明と違ったため返品を求めましたが、断られています。",
        ),
        (
            "支払ったお金を取り戻す方法はありますか?",
            "この契約はクーリング・オフできるのでしょうか?",
            "{who}は販売者に何を請求できますか?",
            "途中で解約した場合の費用はどうなるのでしょうか?",
            "業者との交渉の進め方を教えてください。",
        ),
        ("未成年者取消しの要件", "クーリング・オフの期間", "特定商取引法の規制", "中途解約のルール", "返品特約の確認", "消費生活センターの利用"),
        (
            "未成年者が親の同意なく結んだ契約は、原則として取り消すことができます。",
            "子どもが年齢を偽ったり親のふりをしたりした場合には、取消しが認められないこともあります。",
            "訪問販売の契約は、契約書面を受け取った日から八日以内であればクーリング・オフができます。",
            "書面に不備がある場合には、八日を過ぎていてもクーリング・オフが認められることがあります。",
            "定期購入であることを分かりにくく表示した販売は、特定商取引法の規制の対象となります。",
            "エステなどの継続的なサービスは、期間の途中でも法律の上限の範囲内の違約金で解約できます。",
            "ネット通販にはクーリング・オフの制度がなく、返品の可否は販売者の定める返品特約によります。",
            "偽物を本物と偽って販売した場合には、詐欺による取消しや損害賠償を求めることが考えられます。",
            "クーリング・オフの通知は、はがきや電子メールなど記録が残る方法で送ることが大切です。",
            "消費生活センターでは、事業者との間に入ってあっせんをしてもらえることがあります。",
        ),
    ),
    Category(
        "saiken",
        "債権回収",
        ("取引先の売掛金", "個人への貸金の返済", "給与の差押え", "廃業した取引先", "デザイン料の未払い", "支払督促の利用"),
        (
            "{who}はフリーランスで、取引先から受けた仕事の報酬{amount}がまだ支払われていません。",
            "友人に貸した{amount}を返してほしいと伝えたところ、連絡がつかなくなりました。",
            "取引先が突然事業をやめてしまい、売掛金を回収できるか分からなくなりました。",
            "判決で支払いが命じられたのに、相手は{months}か月たっても一円も払っていません。",
            "納品したデザインについて、修正が終わっていないことを理由に支払いを拒まれています。",
            "相手とのやり取りはほとんどがメッセージアプリで、正式な契約書は作っていません。",
        ),
        (
            "未払いの代金を回収するにはどうすればよいでしょうか?",
            "相手の給与を差し押さえることはできますか?",
            "契約書がなくても請求できるのでしょうか?",
            "{who}が今からできることは何でしょうか?",
            "回収の手段と費用の目安を教えてください。",
        ),
        ("内容証明郵便による督促", "支払督促の手続き", "強制執行の準備", "消滅時効の管理", "証拠の整理", "少額訴訟の活用"),
        (
            "まずは請求の内容と期限を明記した書面を送り、支払いを求めた事実を残しておくことが大切です。",
            "内容証明郵便で督促すると、時効の完成を六か月猶予させる効果もあります。",
            "支払督促は書類審査だけで進む手続きで、相手が異議を出さなければ強制執行ができるようになります。",
            "強制執行をするには、判決や公正証書などの債務名義と、差し押さえる財産の特定が必要です。",
            "給与を差し押さえる場合は、相手の勤務先を特定したうえで、原則として手取りの四分の一までが対象となります。",
            "契約書がなくても、メールや見積書、納品の記録などから契約の成立を示すことができます。",
            "債権は原則として権利を行使できると知った時から五年で時効にかかるため、期限の管理が欠かせません。",
            "取引先が廃業した場合でも、法人が残っていれば会社の財産に対して請求することができます。",
            "財産開示手続や第三者からの情報取得手続を使えば、相手の預金口座や勤務先を調べられることがあります。",
            "回収にかかる費用と見込める金額を比べ、どこまでの手続きをとるかを決めることが現実的です。",
        ),
    ),
    Category(
        "kojinjoho",
        "個人情報保護・情報漏洩",
        ("委託先からの顧客情報流出", "書類の紛失", "防犯カメラの映像", "名簿の持ち出し", "誤送信による漏えい", "退職者による情報持ち出し"),
        (
            "{who}は通信販売の会社で総務を担当しており、顧客データの管理を外部に委託しています。",
            "委託先から、不正アクセスにより約{count}件の顧客情報が流出した可能性があると連絡がありました。",
            "社員が顧客の申込書を入れた鞄を電車に置き忘れ、まだ見つかっていません。",
            "店舗に設置した防犯カメラの映像を見せてほしいと、近所の住民から求められています。",
            "退職した営業担当者が、顧客名簿を持ち出して競合他社で使っているようです。",
            "担当者が取引先一覧を添付したメールを、誤って社外の宛先に送ってしまいました。",
        ),
        (
            "会社としてどのような対応をとるべきでしょうか?",
            "個人情報保護委員会への報告は必要ですか?",
            "{who}の会社はどこまで責任を負うのでしょうか?",
            "本人への通知はどのように行えばよいですか?",
            "再発を防ぐための対策を教えてください。",
        ),
        ("漏えい時の初動対応", "委員会への報告義務", "本人への通知", "委託先の監督", "安全管理措置", "再発防止策の策定"),
        (
            "漏えいが分かったら、まず被害の拡大を防ぎ、原因と対象となった情報の範囲を確かめる必要があります。",
            "要配慮個人情報や不正アクセスによる漏えいなど一定の場合には、個人情報保護委員会への報告が義務となります。",
            "報告は、事態を知ってから速やかに行う速報と、原則三十日以内に行う確報の二段階に分かれています。",
            "報告の対象となる事態では、原則として本人にも漏えいの内容や問い合わせ先を通知しなければなりません。",
            "委託先で起きた漏えいであっても、委託元は委託先を監督する義務を負っているため責任を免れません。",
            "防犯カメラの映像も特定の個人を識別できるものは個人情報に当たり、第三者への提供には注意が必要です。",
            "従業員が名簿を持ち出した場合には、不正競争防止法による差止めや損害賠償を検討できることがあります。",
            "メールの誤送信を防ぐには、送信前の確認画面や添付ファイルの暗号化を仕組みとして取り入れることが有効です。",
            "安全管理措置には、組織的、人的、物理的、技術的な措置があり、規模に応じて整備することが求められます。",
            "再発防止策は文書にまとめ、社員研修や定期的な点検を通じて実際に運用されているかを確かめましょう。",
        ),
    ),
)

GENERIC_POINTS = (
    "相手とのやり取りは、日時と内容が分かる形で記録に残しておくことをおすすめします。",
    "話し合いで解決しない場合には、調停や訴訟といった裁判所の手続きを利用することになります。",
    "請求できる権利には期限があるものが多いため、早めに専門家へ相談することが大切です。",
    "感情的なやり取りは避け、事実関係を整理したうえで冷静に交渉を進めましょう。",
    "手続きにかかる費用や期間は事案によって大きく異なるため、見通しを確認してから進めるとよいでしょう。",
    "自治体や弁護士会が開いている無料の法律相談を利用すれば、費用をかけずに見通しを聞くことができます。",
    "収入が一定額以下の場合は、法テラスの民事法律扶助により弁護士費用の立替えを受けられることがあります。",
    "書面で合意する場合には、金額や期限、支払方法をできるだけ具体的に書いておくことが重要です。",
    "相手の言い分にも一理ある部分があれば、それを認めたうえで譲れない点をはっきりさせると話が進みやすくなります。",
    "法律上の結論は、細かな事実関係の違いで変わることがあるため、資料をそろえて相談するのが確実です。",
    "口頭での約束も契約として有効ですが、後から内容を証明するのは難しいため書面に残しておきましょう。",
    "裁判所の手続きでは、主張を裏づける証拠があるかどうかが結果を大きく左右します。",
)
OPENINGS = (
    "ご相談のケースについて、順を追って説明します。",
    "ご不安な状況だと思いますが、法律上の考え方を整理すると取るべき対応が見えてきます。",
    "結論からいうと、事実関係によって取れる手段が変わるため、まずは状況の確認が必要です。",
    "このような相談は少なくありませんが、適切に対応すれば解決の道は十分にあります。",
)
CLOSINGS = (
    "一人で抱え込まず、早めに専門家へ相談して適切な対応を取ることをおすすめします。",
    "状況に応じて必要な手続きは変わりますので、資料をそろえたうえで弁護士に相談してみてください。",
    "まずは事実関係と証拠を整理し、話し合いでの解決を目指しながら、必要に応じて法的手続きを検討しましょう。",
)
GENERIC_HEADS = ("はじめに", "基本的な考え方", "注意点", "証拠の確保", "手続きの流れ", "相談先", "費用の目安", "今後の対応")
CLOSING_HEAD = "まとめ"
BULLETS = (
    "・契約書や合意書の写し", "・相手とのメールやメッセージの記録", "・支払いや入金の記録", "・日付入りの写真",
    "・経緯を時系列でまとめたメモ", "・関係する通知や請求書", "・医師の診断書や領収書", "・第三者の証言",
)  # fmt: skip
TOPIC_SENTENCES = (
    "{topic}については、個別の事情によって結論が変わることがあるため、事実関係の確認が欠かせません。",
    "実際に{topic}が争われた事案では、当事者の間で交わされたやり取りの記録が重視されています。",
    "{topic}について分からない点があれば、関係する窓口に問い合わせて確認しておきましょう。",
    "{topic}の見通しを立てるには、手元の資料を時系列に並べて整理してみることが役に立ちます。",
    "{topic}をめぐる話し合いでは、相手の主張の根拠を書面で示してもらうよう求めることが大切です。",
    "{topic}が問題になる場面では、期限のある手続きがないかを最初に確認しておく必要があります。",
    "同じような{topic}の相談でも、契約の内容や経緯によって取るべき対応は異なります。",
)
CONNECTORS = ("また、", "なお、", "そのうえで、", "一般的には、", "実務上は、", "もっとも、")
TOPIC_ONLY = (
    "{topic}で困っている",
    "{topic}について家族と意見が分かれている",
    "{topic}がうまく進まず不安を感じている",
    "{topic}をめぐって相手と話がまとまらない",
)
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
AMOUNTS = ("12万円", "30万円", "45万円", "68万円", "80万円", "120万円", "150万円", "230万円", "350万円", "600万円")
BACKGROUND_MARKERS = (" (背景)", "（背景）", " 【背景】", " 背景：", "背景として、")
TEXT_GAPS = (1, 2, 2, 4, 0)  # blank lines between paragraphs in a text dump (0: single newlines)


# ---------------------------------------------------------------------------------------------------
# One page


@dataclasses.dataclass(frozen=True)
class Related:
    question: str
    teaser: str  # 39 characters, shown with "..." (or "…")
    ellipsis: str
    url: str


@dataclasses.dataclass(frozen=True)
class Page:
    serial: int
    version: int
    format: str  # text | html
    category: Category
    ellipsis_line: bool
    consultation: tuple[str, ...]  # one line, or the title line then the story
    answer: tuple[tuple[str, object], ...]  # ("p", text) | ("h", heading line) | ("ul", items)
    related: tuple[Related, ...]
    url: str
    post_title: str
    gap: int

    @property
    def page_id(self) -> str:
        return self.url.rsplit("/", 1)[1]


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(map(str, (seed, *parts))))  # str seeds are stable across runs


def _fill(template: str, rng: random.Random, who: str) -> str:
    return template.format(
        who=who,
        years=rng.randint(2, 15),
        months=rng.randint(2, 11),
        days=rng.randint(5, 60),
        count=f"{rng.randint(2, 40) * 100:,}" if "件" in template else rng.randint(20, 80),
        amount=rng.choice(AMOUNTS),
    )


def page_format(seed: int, serial: int, html_share: float) -> str:
    return "html" if _rng(seed, serial, "format").random() < html_share else "text"


def make_page(seed: int, serial: int, version: int = 0, fmt: str = "text") -> Page:
    """Page `serial` of the corpus, in its `version`-th content (the answer changes; nothing else)."""
    rng = _rng(seed, serial)
    category = CATEGORIES[rng.randrange(len(CATEGORIES))]
    who = rng.choice(LETTERS) + "さん"
    consultation = _consultation(rng, category, who)
    posted = FIRST_POST + dt.timedelta(seconds=serial * 97 + rng.randrange(90))
    url = f"{SITE}/{category.slug}/{posted:%Y%m%d%H%M%S}-{rng.randint(1, 9)}"
    related = _related_block(rng, category)
    ellipsis_line = rng.random() < 0.6
    gap = rng.choice(TEXT_GAPS)
    post_title = consultation[-1][:32] + "…"
    bare = Page(serial, version, fmt, category, ellipsis_line, consultation, (), related, url, post_title, gap)
    target = _rng(seed, serial, "size", version).randint(MIN_TEXT_BYTES + 200, MAX_TEXT_BYTES - 300)
    budget = (target - len(render_text(bare).encode("utf-8"))) // 3  # characters: 3 bytes each in UTF-8
    while True:  # the answer's line breaks are not in the budget: shrink it in the rare case they overflow
        answer = _answer(_rng(seed, serial, "answer", version), category, budget)
        page = dataclasses.replace(bare, answer=answer)
        if len(render_text(page).encode("utf-8")) <= MAX_TEXT_BYTES or budget <= 0:
            return page
        budget -= 100


def _consultation(rng: random.Random, category: Category, who: str) -> tuple[str, ...]:
    picked = sorted(rng.sample(range(len(category.situations)), rng.randint(2, 4)))  # list order: who comes first
    story = [_fill(category.situations[i], rng, who) for i in picked]
    question = _fill(rng.choice(category.questions), rng, who)
    if rng.random() < 0.5:
        question = question.replace("?", "？")
    shape = rng.choices(("marker", "narrative", "quoted", "topic", "title_prefix", "title_line"), (30, 30, 10, 8, 11, 11))[0]
    topic = rng.choice(category.topics)
    if shape == "marker":
        marker = rng.choice(BACKGROUND_MARKERS)
        return (f"{question}{marker}{''.join(story)}",)
    if shape == "narrative":
        return ("".join(story) + question,)
    if shape == "quoted":
        return (f"「{question}」",)
    if shape == "topic":
        return (rng.choice(TOPIC_ONLY).format(topic=topic),)
    title = f"{who}の{topic}について" if rng.random() < 0.5 else f"{topic}の件"
    if shape == "title_prefix":
        return (f"{title} {''.join(story)}{question}",)
    return (title, "".join(story) + question)


def _related_block(rng: random.Random, own: Category) -> tuple[Related, ...]:
    """Ten teasers: other consultations (often of the same category), each shown once."""
    items: list[Related] = []
    seen: set[str] = set()
    while len(items) < RELATED_COUNT:
        category = own if rng.random() < 0.4 else rng.choice(CATEGORIES)
        who = rng.choice(LETTERS) + "さん"
        question = _fill(rng.choice(category.questions), rng, who)
        if rng.random() < 0.5:
            question = _fill(rng.choice(category.situations), rng, who) + question
        teaser = rng.choice(_teasers(category))[:TEASER_CHARS]
        if question in seen or teaser in seen:
            continue
        seen.update((question, teaser))
        posted = FIRST_POST + dt.timedelta(seconds=rng.randrange(100_000_000))
        url = f"{SITE}/{category.slug}/{posted:%Y%m%d%H%M%S}-{rng.randint(1, 9)}"
        items.append(Related(question, teaser, "..." if rng.random() < 0.9 else "…", url))
    return tuple(items)


@functools.cache
def _teasers(category: Category) -> list[str]:
    """Answer openings long enough to be cut at 39 characters."""
    sentences = [*category.points, *(t.format(topic=topic) for t in TOPIC_SENTENCES for topic in category.topics)]
    return [sentence for sentence in sentences if len(sentence) > TEASER_CHARS]


_HEADING_STYLES = ("title", "dot", "dot_space", "dot_wide", "paren", "paren_wide", "circled", "square", "bracket", "dai", "mixed")


def _heading_line(style: str, number: int, text: str, first: bool) -> str:
    circled = "①②③④⑤⑥⑦⑧⑨⑩"
    return {
        "title": text,
        "dot": f"{number}.{text}",
        "dot_space": f"{number}. {text}",
        "dot_wide": f"{number}．{text}",
        "paren": f"({number}){text}",
        "paren_wide": f"（{number}）{text}",
        "circled": f"{circled[number - 1]}{text}",
        "square": f"■{text}",
        "bracket": f"【{text}】",
        "dai": f"第{number} {text}",
        "mixed": text if first else f"{number}. {text}",
    }[style]


def _answer(rng: random.Random, category: Category, budget_chars: int) -> tuple[tuple[str, object], ...]:
    n_headings = rng.randint(3, 8)
    style = rng.choice(_HEADING_STYLES)
    heads = [*rng.sample(category.heads + GENERIC_HEADS[1:], n_headings - 1), CLOSING_HEAD]
    if rng.random() < 0.3:
        heads[0] = GENERIC_HEADS[0]  # はじめに
    sentences = _sentences(rng, category)

    def paragraph() -> str:
        return "".join(next(sentences) for _ in range(rng.randint(1, 3)))

    sections: list[list[tuple[str, object]]] = []
    for i, head in enumerate(heads):
        is_last = i == len(heads) - 1
        line = _heading_line(style, i + 1 if style != "mixed" else i, head, first=i == 0 or is_last)
        body: list[tuple[str, object]] = [("p", rng.choice(CLOSINGS) if is_last else paragraph())]
        sections.append([("h", line), *body])
    intro = [("p", rng.choice(OPENINGS))] if rng.random() < 0.5 else []
    blocks_len = sum(len(str(b[1])) for s in sections for b in s) + sum(len(b[1]) for b in intro)
    # Grow the sections (never the closing one) until the budget is spent.
    while blocks_len < budget_chars:
        target = sections[rng.randrange(len(sections) - 1)]
        if rng.random() < 0.12 and not any(kind == "ul" for kind, _ in target):
            block: tuple[str, object] = ("ul", tuple(rng.sample(BULLETS, rng.randint(2, 4))))
            size = sum(map(len, block[1])) + 4
        else:
            text = paragraph()
            block, size = ("p", text), len(text)
        if blocks_len + size > budget_chars:
            break
        target.insert(rng.randint(2, len(target)), block)
        blocks_len += size
    return (*intro, *(block for section in sections for block in section))


def _sentences(rng: random.Random, category: Category):
    """Answer sentences without repeats: the phrase lists, then topic templates, then with connectors."""
    topical = [t.format(topic=rng.choice(category.topics)) for t in rng.sample(TOPIC_SENTENCES, 4)]
    base = [*category.points, *GENERIC_POINTS, *topical]
    rng.shuffle(base)
    yield from base
    while True:
        for sentence in rng.sample(base, len(base)):
            yield rng.choice(CONNECTORS) + sentence


# ---------------------------------------------------------------------------------------------------
# Rendering


def render(page: Page) -> bytes:
    return (render_text(page) if page.format == "text" else render_html(page)).encode("utf-8")


def _answer_lines(page: Page) -> list[str]:
    lines: list[str] = []
    for kind, value in page.answer:
        lines.extend(value if kind == "ul" else [value])  # type: ignore[arg-type]
    return lines


def render_text(page: Page) -> str:
    """The page as a text dump: the shape the parser reads (HTML pages reduce to it too)."""
    gap = "\n" * (page.gap + 1)
    head = f"{page.category.label}\n\n" + ("...\n" if page.ellipsis_line else "")
    related = gap.join(f"{r.question}{gap}{r.teaser}{r.ellipsis}" for r in page.related)
    body = gap.join([*page.consultation, *_answer_lines(page)])
    return f"{head}{body}{gap}おすすめ法律相談{gap}{related}\n"


_STYLE = (
    "body{font-family:'Hiragino Sans',sans-serif;margin:0;color:#222}.qa{max-width:760px;margin:0 auto;padding:16px}"
    ".qa-answer h2{border-left:4px solid #2a6;padding-left:8px}.recommend li{list-style:none;margin:8px 0}"
    "#cookie-banner{position:fixed;bottom:0;left:0;right:0;background:#333;color:#fff}.share-buttons a{margin-right:8px}"
)
_ANALYTICS = (
    "window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
    "gtag('js',new Date());gtag('config','G-EXAMPLE');var pageType='qa';"
)
_COOKIE_SCRIPT = (
    "document.querySelector('#cookie-banner button').addEventListener('click',function(){"
    "document.getElementById('cookie-banner').style.display='none';});"
)


def render_html(page: Page) -> str:
    e = html.escape
    cat = page.category
    question_ps = "".join(f"<p>{e(line)}</p>" for line in page.consultation)
    answer_parts: list[str] = []
    for kind, value in page.answer:
        if kind == "h":
            answer_parts.append(f"<h2>{e(value)}</h2>")  # type: ignore[arg-type]
        elif kind == "ul":
            answer_parts.append("<ul>" + "".join(f"<li>{e(item)}</li>" for item in value) + "</ul>")  # type: ignore[union-attr]
        else:
            answer_parts.append(f"<p>{_inline(e(value))}</p>")  # type: ignore[arg-type]
    related = "\n".join(
        f'        <li><a href="{r.url}"><p class="rec-q">{e(r.question)}</p>'
        f'<p class="rec-a">{e(r.teaser)}{r.ellipsis}</p></a></li>'
        for r in page.related
    )
    nav = "".join(
        f'<a href="{SITE}/{c.slug}/">{e(c.label)}</a>' for c in CATEGORIES[(page.serial % 3) :: 2]
    )
    ellipsis = "    <p>...</p>\n" if page.ellipsis_line else ""
    return f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{e(page.post_title)} | {SITE_NAME}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="{e(page.post_title)}">
<link rel="canonical" href="{page.url}">
<meta property="og:url" content="{page.url}">
<meta property="og:title" content="{e(page.post_title)}">
<link rel="stylesheet" href="{SITE}/assets/site.css">
<script>{_ANALYTICS}</script>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"QAPage","name":"{e(page.post_title)}"}}</script>
<style>{_STYLE}</style>
</head>
<body class="page-qa">
<header class="site-header"><div class="logo"><a href="{SITE}/"><img src="/img/logo.png" alt="{SITE_NAME}"></a></div>
<nav class="global-nav"><a href="{SITE}/search/">相談を探す</a><a href="{SITE}/category/">カテゴリ一覧</a>{nav}<a href="{SITE}/lawyer/">弁護士を探す</a></nav></header>
<nav class="breadcrumb"><ol><li><a href="{SITE}/">ホーム</a></li><li><a href="{SITE}/{cat.slug}/">{e(cat.label)}</a></li><li>{e(page.post_title)}</li></ol></nav>
<main class="content">
  <article class="qa" id="qa-{page.page_id}">
    <p class="qa-category">{e(cat.label)}</p>
{ellipsis}    <div class="qa-question">{question_ps}</div>
    <div class="qa-answer">
      {(chr(10) + "      ").join(answer_parts)}
    </div>
    <section class="recommend">
      <h2>おすすめ法律相談</h2>
      <ul>
{related}
      </ul>
    </section>
  </article>
  <aside class="ad-slot"><p>広告</p><a href="{SITE}/pr/">弁護士保険のご案内</a></aside>
</main>
<div class="share-buttons"><a href="#" class="share-x">ポストする</a><a href="#" class="share-line">LINEで送る</a><button type="button">リンクをコピー</button></div>
<div id="cookie-banner"><p>当サイトでは、利便性向上のためにクッキーを使用しています。<a href="{SITE}/privacy/">プライバシーポリシー</a></p><button type="button">同意する</button></div>
<footer class="site-footer"><p>運営: {SITE_NAME}編集部</p><p class="copyright">&copy; 2024 houritsu-soudan.example All rights reserved.</p></footer>
<script>{_COOKIE_SCRIPT}</script>
</body></html>
"""


def _inline(escaped: str) -> str:
    """Some inline markup, as the site has: a <strong> phrase; the text is unchanged."""
    cut = escaped.find("は")
    if 2 <= cut <= 20 and "&" not in escaped[:cut]:
        return f"<strong>{escaped[:cut]}</strong>{escaped[cut:]}"
    return escaped


# ---------------------------------------------------------------------------------------------------
# The corpus: batches of new pages, re-scrapes and changed pages


@dataclasses.dataclass(frozen=True)
class FileSpec:
    batch: str
    serial: int
    version: int
    format: str
    kind: str  # new | rescrape | changed

    @property
    def name(self) -> str:
        return f"{self.serial:07d}.{'html' if self.format == 'html' else 'txt'}"


@dataclasses.dataclass(frozen=True)
class Summary:
    out_dir: Path
    batches: tuple[str, ...]
    files: int
    new: int
    rescrapes: int
    changed: int
    html: int
    bytes: int

    def line(self) -> str:
        return (
            f"{self.files} files in {len(self.batches)} batches under {self.out_dir}: {self.new} new pages, "
            f"{self.rescrapes} re-scrapes, {self.changed} changed; {self.html} HTML; {self.bytes / 1e6:.1f} MB"
        )


def batch_name(index: int) -> str:
    return (FIRST_BATCH_DATE + dt.timedelta(days=index)).isoformat()


def plan(
    pages: int,
    batches: int | Sequence[int] = 1,
    *,
    html_share: float = 0.3,
    rescrape_share: float = 0.05,
    changed_share: float = 0.02,
    seed: int = 1,
    first_batch: int = 0,
    first_serial: int = 0,
) -> list[FileSpec]:
    """Which file goes where, in batch order; pure and deterministic."""
    sizes = _batch_sizes(pages, batches)
    rng = _rng(seed, "plan", first_batch, first_serial)
    slots = [b for b, size in enumerate(sizes) for _ in range(size)]
    eligible = [i for i, b in enumerate(slots) if b > 0]
    n_changed = min(round(pages * changed_share), len(eligible))
    n_rescrape = min(round(pages * rescrape_share), len(eligible) - n_changed)
    picked = rng.sample(eligible, n_changed + n_rescrape)
    kinds = ["new"] * pages
    for i in picked[:n_changed]:
        kinds[i] = "changed"
    for i in picked[n_changed:]:
        kinds[i] = "rescrape"

    specs: list[FileSpec] = []
    versions: dict[int, int] = {}
    formats: dict[int, str] = {}
    published: list[int] = []  # pages of earlier batches
    published_html: list[int] = []
    next_serial = first_serial
    start = 0
    for b, size in enumerate(sizes):
        name = batch_name(first_batch + b)
        in_batch: set[int] = set()
        fresh: list[int] = []
        for kind in kinds[start : start + size]:
            candidates = published_html if kind == "changed" else published
            serial = _pick(rng, candidates, in_batch) if kind != "new" else None
            if serial is None:  # nothing to re-scrape yet: a new page instead
                kind, serial = "new", next_serial
                next_serial += 1
                formats[serial] = page_format(seed, serial, html_share)
                versions[serial] = 0
                fresh.append(serial)
            elif kind == "changed":
                versions[serial] += 1
            in_batch.add(serial)
            specs.append(FileSpec(name, serial, versions[serial], formats[serial], kind))
        start += size
        published.extend(fresh)
        published_html.extend(s for s in fresh if formats[s] == "html")
    return specs


def _batch_sizes(pages: int, batches: int | Sequence[int]) -> list[int]:
    if isinstance(batches, int):
        if batches < 1 or pages < batches:
            raise ValueError(f"need 1 <= batches <= pages, got {batches} batches for {pages} pages")
        return [pages // batches + (b < pages % batches) for b in range(batches)]
    sizes = list(batches)
    if sum(sizes) != pages or min(sizes, default=0) < 1:
        raise ValueError(f"batch sizes {sizes} must be positive and sum to {pages}")
    return sizes


def _pick(rng: random.Random, candidates: list[int], taken: set[int]) -> int | None:
    for _ in range(20):
        if not candidates:
            return None
        serial = candidates[rng.randrange(len(candidates))]
        if serial not in taken:
            return serial
    return None


def generate(
    out_dir: Path,
    pages: int,
    batches: int | Sequence[int] = 1,
    *,
    html_share: float = 0.3,
    rescrape_share: float = 0.05,
    changed_share: float = 0.02,
    seed: int = 1,
    first_batch: int = 0,
    first_serial: int = 0,
) -> Summary:
    """Write the corpus under out_dir; `first_batch`/`first_serial` continue an existing corpus with new pages."""
    specs = plan(
        pages, batches, html_share=html_share, rescrape_share=rescrape_share, changed_share=changed_share,
        seed=seed, first_batch=first_batch, first_serial=first_serial,
    )  # fmt: skip
    total = 0
    cache: dict[tuple[int, int], bytes] = {}  # re-scrapes of recent pages without re-rendering
    made_dirs: set[str] = set()
    for spec in specs:
        folder = out_dir / spec.batch
        if spec.batch not in made_dirs:
            folder.mkdir(parents=True, exist_ok=True)
            made_dirs.add(spec.batch)
        key = (spec.serial, spec.version)
        data = cache.get(key) or render(make_page(seed, spec.serial, spec.version, spec.format))
        if len(cache) >= 20_000:
            cache.clear()
        cache[key] = data
        (folder / spec.name).write_bytes(data)
        total += len(data)
    names = tuple(dict.fromkeys(spec.batch for spec in specs))
    for name in names:
        (out_dir / name / SUCCESS_MARKER).write_bytes(b"")
    kinds = [spec.kind for spec in specs]
    return Summary(
        out_dir=out_dir,
        batches=names,
        files=len(specs),
        new=kinds.count("new"),
        rescrapes=kinds.count("rescrape"),
        changed=kinds.count("changed"),
        html=sum(spec.format == "html" for spec in specs),
        bytes=total,
    )


# ---------------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="folder to write the batches into")
    parser.add_argument("--pages", type=int, required=True, help="files to write in all (re-scrapes included)")
    parser.add_argument("--batches", type=int, default=1, help="batch folders, filled evenly (default 1)")
    parser.add_argument("--batch-sizes", type=_sizes, help="comma-separated files per batch instead (sum = --pages)")
    parser.add_argument("--html-share", type=_share, default=0.3, help="share of pages saved as HTML (default 0.3)")
    parser.add_argument("--rescrape-share", type=_share, default=0.05, help="share of files that re-scrape a page")
    parser.add_argument("--changed-share", type=_share, default=0.02, help="share of files that change a page's answer")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--first-batch", type=int, default=0, help="index of the first batch (continue a corpus)")
    parser.add_argument("--first-serial", type=int, default=0, help="number of the first new page (continue a corpus)")


def run(args: argparse.Namespace) -> int:
    try:
        summary = generate(
            args.out_dir, args.pages, args.batch_sizes or args.batches,
            html_share=args.html_share, rescrape_share=args.rescrape_share, changed_share=args.changed_share,
            seed=args.seed, first_batch=args.first_batch, first_serial=args.first_serial,
        )  # fmt: skip
    except ValueError as error:
        print(f"synth: {error}", file=sys.stderr)
        return 2
    print(summary.line())
    return 0


def _share(value: str) -> float:
    share = float(value)
    if not 0 <= share <= 1:
        raise argparse.ArgumentTypeError(f"a share is between 0 and 1, got {value}")
    return share


def _sizes(value: str) -> list[int]:
    try:
        return [int(part) for part in value.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"comma-separated integers, got {value!r}") from None

