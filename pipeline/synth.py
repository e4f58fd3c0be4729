"""A synthetic corpus in the site's shapes, for benchmarks and scale tests.

    python -m pipeline.synth --pages 10000 --batches 4 --html-share 0.3 \\
        --rescrape-share 0.05 --changed-share 0.02 --seed 1 /tmp/corpus

writes OUT_DIR/<batch>/<page>.txt|.html, one folder per scrape batch (named by date, so name order is
scrape order), each finished with a `_SUCCESS` marker. Pure Python, no Dagster; deterministic: the same
arguments give byte-identical files.

Every page is made from templates and phrase lists written for this project (no sentence of the real
site): a category line, sometimes a lone `...` line, the consultation in one of the observed shapes
(question then `(背景)` narrative, narrative ending in the question, a quoted question, a topic line only,
a title then the story), an answer that restates the case and goes on in 3-8 headed sections in one
heading style, and the `おすすめ法律相談` block of 10 other pages of the site: each one's consultation
and the first 39 characters of its answer plus `...`. The text dump of a page is 3-10 KB. HTML pages
carry the usual chrome (head, scripts, styles, header, global nav, breadcrumb, share buttons, cookie
banner, footer) and a canonical link with a `<14 digits>-<n>` id.

The text is recombined at clause level, so that pages differ as real ones do (unrelated pages share few
5-character shingles, an answer never repeats a sentence, the text compresses like prose rather than
like a template). A sentence is a template of short literal runs and slots (conditions, reasons,
results, actions, endings, connectors, the category's things, issues, procedures, documents, offices
and what the other party did), each slot filled from a list that may itself hold templates. Every page
first draws its own vocabulary: a slice of each list (so two pages seldom talk alike) plus its own names
(surnames, companies, places made from kanji and kana), dates, amounts and periods, which its
consultation and answer both use; a changed page keeps the vocabulary and says other sentences.

The pages of a seed form one site: page `n` says the same wherever it is made, and a page recommends pages
published near it (most of them in a corpus of consecutive pages, so teasers link as on a real scrape)
or before the corpus's first page (never scraped: the crawl frontier); an HTML teaser links to the
recommended page's URL. A corpus continued with `first_serial` and the same seed extends the same site.

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
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from pipeline.core import workers as pools
from pipeline.core.batches import SUCCESS_MARKER

SITE = "https://houritsu-soudan.example"
SITE_NAME = "法律相談ナビ"
RELATED_COUNT = 10
TEASER_CHARS = 39
MIN_TEXT_BYTES, MAX_TEXT_BYTES = 3_000, 10_000
FIRST_BATCH_DATE = dt.date(2024, 1, 1)
FIRST_POST = dt.datetime(2021, 4, 1, 9, 0, 0)

# ---------------------------------------------------------------------------------------------------
# Phrase lists. A text is a template of literal runs and {SLOT}s; a slot is filled with an entry of the
# list of that name, itself a template (see _expand). Lists are written one entry per word, space-separated.
#
# Per category: topics (noun phrases: titles, topic-only consultations), situations (the asker's story,
# never questions), questions, heads (section headings: short, no punctuation), roles (the other party:
# {OPP}), things {T}, issues {I}, procedures {P}, documents {D}, events {EV} (what the other party did, in
# the past tense), offices {O}. Filled per page: {WHO} the asker ("Kさん"), {ME} how the answer calls the
# asker, {SN} surnames, {CO} companies, {PL} places, {DT} dates, {A} {SA} amounts, {N} periods, {Y} years,
# {K} {KN} {H} counts. A slot named like another plus "2" ({D2}) takes another entry of the same list.


def _w(text: str) -> tuple[str, ...]:
    return tuple(text.split())


@dataclasses.dataclass(frozen=True)
class Category:
    slug: str
    label: str
    topics: tuple[str, ...]
    situations: tuple[str, ...]
    questions: tuple[str, ...]
    heads: tuple[str, ...]
    roles: tuple[str, ...]
    things: tuple[str, ...]
    issues: tuple[str, ...]
    procedures: tuple[str, ...]
    documents: tuple[str, ...]
    events: tuple[str, ...]
    offices: tuple[str, ...]


CATEGORIES = (
    Category(
        "souzoku",
        "相続・遺言",
        _w("遺産分割の進め方 自筆の遺言書の扱い 相続放棄の期限 実家の名義変更 預金の払戻し 遺留分の請求 相続人の確定 借金の相続 生前贈与の扱い 共有名義の土地"),
        _w("""
            {WHO}の父が{N}前に亡くなり、相続人は{WHO}と兄弟の三人です。
            父名義の自宅と預貯金がありますが、{OPP}が遺産をすべて管理していて内容を教えてくれません。
            母の遺品を整理していたところ、封をされた手書きの遺言書が見つかりました。
            亡くなった叔父には子どもがおらず、{WHO}が相続人になると親族から連絡を受けました。
            相続登記をしないまま{Y}が経ち、固定資産税の通知だけが毎年届いています。
            葬儀費用の{A}を立て替えたものの、ほかの相続人が負担に応じてくれません。
            父には生前に多額の借金があったことが、{DT}に届いた督促状で分かりました。
            遺言書には長男にすべてを相続させると書かれており、{WHO}には何も残されていません。
            {OPP}は、父の介護をしていたのだから多く受け取るのが当然だと言っています。
            実家は{PL}にある古い一軒家で、誰も住む予定がありません。
            {DT}に親族で集まりましたが、遺産の分け方について話がまとまりませんでした。
            父の口座からは、亡くなる直前に{A}が引き出されていました。
        """),
        _w("""
            この場合、{WHO}はどのように手続きを進めればよいのでしょうか?
            遺産の内容を開示してもらうにはどうすればよいですか?
            見つかった遺言書はその場で開けてもよいのでしょうか?
            今からでも相続放棄をすることはできますか?
            自分の取り分を請求する方法を教えてください。
            {OPP}の言い分はどこまで認められるのでしょうか?
            引き出されたお金を取り戻すことはできますか?
        """),
        _w("遺産分割協議の流れ 遺言書の検認 相続放棄の手続き 遺留分侵害額請求 相続登記の義務 相続財産の調査 寄与分の考え方 使途不明金の扱い"),
        _w("兄 姉 弟 妹 叔父 長男 兄の{SN}さん 姉の{SN}さん 叔父の{SN}さん 義理の姉 異母兄弟の{SN}さん"),
        _w("""遺産 預貯金 実家の土地と建物 自筆の遺言書 父名義の株式 生命保険金 貸金庫の中身 賃貸アパートの収益 農地
            自家用車 未払いの医療費 葬儀費用 生前に贈与された資金 共有名義の山林 遺品の骨董品 年金の未支給分
            亡くなった後に引き出された預金 借金の残高 仏壇とお墓 相続税の申告"""),
        _w("""遺産分割 遺留分の侵害 寄与分 特別受益 相続放棄の期限 遺言の有効性 遺言能力 使途不明金の返還 相続人の範囲
            限定承認 代償分割 相続登記の義務 遺産の評価額 熟慮期間の延長 遺言執行者の選任"""),
        _w("""遺産分割調停 遺言書の検認 相続放棄の申述 遺留分侵害額の請求 相続人調査 財産目録の作成 相続登記の申請
            熟慮期間の伸長の申立て 遺産分割協議書の作成 不当利得返還請求"""),
        _w("戸籍謄本 除籍謄本 遺言書の写し 預金通帳 残高証明書 名寄帳 登記事項証明書 固定資産評価証明書 取引履歴 介護記録 督促状 葬儀の領収書"),
        _w("""遺産の内容を明かさなかった 預金を引き出していた 遺言書を持ち出した 協議への出席を断った 一方的に分割案を送ってきた
            実家に住み続けている 印鑑を押すよう迫ってきた 生前に多額の援助を受けていた 連絡を無視し続けた 遺品を勝手に処分した"""),
        _w("家庭裁判所 法務局 公証役場 市役所の窓口 税務署 金融機関の相続窓口"),
    ),
    Category(
        "rikon",
        "離婚・男女問題",
        _w("養育費の取り決め 財産分与の範囲 別居中の生活費 親権の判断基準 面会交流の頻度 住宅ローンの扱い 慰謝料の相場 年金分割の手続き 不貞行為の証拠 離婚調停の準備"),
        _w("""
            {WHO}は結婚して{Y}になりますが、{N}ほど前から夫と別居しています。
            夫は家を出て行ってから、生活費を一切渡してくれなくなりました。
            妻から突然離婚届を渡され、子どもの親権は自分が持つと言われています。
            結婚後に購入した自宅には、まだ{A}の住宅ローンが残っています。
            元夫とは協議離婚をしましたが、養育費の約束を書面に残していませんでした。
            子どもとの面会を約束していたのに、ここ{N}は会わせてもらえていません。
            {OPP}は再婚しており、今後の支払いを減らしたいと連絡してきました。
            {DT}に、配偶者が職場の同僚と交際していることを知りました。
            {OPP}は、共働きで貯めた預金{A}をすべて自分のものだと主張しています。
            別居してから、子どもは{WHO}と一緒に{PL}の実家で暮らしています。
        """),
        _w("""
            離婚に向けて、{WHO}はまず何をしておくべきでしょうか?
            別居中の生活費を請求することはできますか?
            親権はどのような点から判断されるのでしょうか?
            住宅ローンが残った家はどう分ければよいですか?
            約束した養育費を確実に払ってもらう方法を教えてください。
            慰謝料を請求するにはどのような証拠が必要ですか?
            {OPP}の要求にはどこまで応じなければならないのでしょうか?
        """),
        _w("婚姻費用の請求 財産分与の考え方 親権者の決め方 養育費の算定 面会交流の取り決め 公正証書の作成 慰謝料の請求 年金分割の手続き"),
        _w("夫 妻 元夫 元妻 配偶者 相手方 交際相手の{SN}さん 義母 夫の{SN}さん"),
        _w("""自宅マンション 住宅ローン 夫婦の預貯金 子どもの学資保険 退職金 養育費 婚姻費用 自家用車 結婚前からの貯金 年金
            慰謝料 子どもの進学費用 夫名義の株式 家財道具 ペットの飼育費"""),
        _w("""財産分与 親権 監護権 婚姻費用の分担 養育費の算定 面会交流 不貞行為 慰謝料 特有財産 有責配偶者からの離婚請求
            年金分割 婚姻関係の破綻 養育費の減額 子の引渡し"""),
        _w("""離婚調停 婚姻費用分担請求調停 養育費の公正証書化 面会交流調停 離婚訴訟 財産分与の請求 年金分割の請求
            強制執行の申立て 履行勧告の申出 子の監護者指定の審判"""),
        _w("源泉徴収票 給与明細 預金通帳の写し ローンの返済予定表 不動産の査定書 保険証券 母子手帳 写真や動画 メッセージの履歴 家計簿 日記"),
        _w("""生活費を渡さなくなった 家を出て行った 子どもを連れて実家に戻った 離婚届を一方的に書いてきた 預金を勝手に引き出した
            面会の約束を破った 養育費の支払いを止めた 暴言を繰り返した 不貞の事実を認めた 調停への出席を拒んだ"""),
        _w("家庭裁判所 公証役場 年金事務所 市役所の子育て窓口 配偶者暴力相談支援センター"),
    ),
    Category(
        "roudou",
        "労働問題",
        _w("残業代の未払い 試用期間中の解雇 有給休暇の取得 上司からのパワハラ 退職勧奨への対応 固定残業代の有効性 雇止めの通知 労災の申請 賃金の減額 退職金の不支給"),
        _w("""
            {WHO}は入社して{Y}目の会社員で、毎月{H}時間ほど残業をしています。
            求人票には固定残業代込みと書かれていましたが、超過分が支払われたことはありません。
            試用期間の終わりに、能力不足を理由として本採用を見送ると告げられました。
            {OPP}から同僚の前で繰り返し大声で叱責され、眠れない日が続いています。
            有給休暇を申請したところ、繁忙期だから認めないと言われてしまいました。
            人事部との面談で、自分から退職届を出すように何度も求められています。
            会社は勤怠を手書きで管理しており、実際の退勤時刻は記録されていません。
            {DT}付けで、来月から基本給を{SA}下げるという通知を受け取りました。
            契約社員として{Y}働いてきましたが、次の更新はしないと言われました。
            勤務中に倉庫で転倒してけがをしましたが、{OPP}は労災の申請を渋っています。
        """),
        _w("""
            未払いの残業代を請求することはできますか?
            この解雇は法的に認められるものなのでしょうか?
            会社の対応に{WHO}はどう向き合えばよいでしょうか?
            退職を拒み続けても問題はないのでしょうか?
            証拠を残すために何をしておけばよいか教えてください。
            一方的な減給に従わなければならないのでしょうか?
            労災として認めてもらうにはどうすればよいですか?
        """),
        _w("労働時間の記録 固定残業代の要件 解雇の有効性 パワハラの判断基準 有給休暇の時季変更権 労働基準監督署への相談 雇止めの判断 労災保険の給付"),
        _w("上司 店長 部長 人事担当者 社長 会社 勤務先の{CO} 課長の{SN}さん 上司の{SN}さん"),
        _w("""未払いの残業代 固定残業代 基本給 賞与 退職金 有給休暇 試用期間 雇用契約書 タイムカード 深夜手当 休日出勤の手当
            通勤手当 労働条件通知書 就業規則 業務日報 社用パソコンのログ"""),
        _w("""解雇権の濫用 残業代の未払い 固定残業代の有効性 労働時間の立証 パワハラ該当性 安全配慮義務 雇止めの合理性
            不利益変更 時季変更権 労災認定 退職勧奨の違法性 管理監督者性 賃金請求権の時効 懲戒処分の相当性"""),
        _w("""労働審判 労働基準監督署への申告 未払い賃金の請求 解雇の撤回を求める通知 あっせんの申立て 労災保険の給付申請
            地位確認訴訟 団体交渉の申入れ 内容証明による請求 退職条件の交渉"""),
        _w("タイムカードの記録 給与明細 雇用契約書 就業規則 労働条件通知書 業務メール 勤怠システムの画面 交通系カードの履歴 上司の発言の録音 医師の診断書 解雇理由証明書 シフト表"),
        _w("""残業代の支払いを拒んだ 本採用を見送った 退職届を出すよう迫った 有給休暇の申請を却下した 同僚の前で叱責した
            一方的に給与を下げた 更新をしないと告げた 勤怠の記録を書き換えた 労災の申請を渋った 配置転換を命じた"""),
        _w("労働基準監督署 都道府県労働局 労働組合 地方裁判所 ハローワーク 総合労働相談コーナー"),
    ),
    Category(
        "fudousan",
        "不動産・賃貸",
        _w("原状回復費用の負担 更新料の支払い 上階からの騒音 家賃の値上げ 敷金の返還 雨漏りの修繕 立ち退きの要求 境界の争い 契約不適合責任 家賃の滞納"),
        _w("""
            {WHO}は賃貸マンションに{Y}住み、{DT}に退去しました。
            {OPP}から、壁紙とフローリングの全面張替え費用として{A}を請求されています。
            契約の更新にあたり、家賃を月{SA}上げると一方的に通知されました。
            上の階の住人が深夜まで物音を立てるため、何度も{OPP}に苦情を伝えています。
            入居時に預けた敷金が、退去から{N}たっても返ってきません。
            大雨のたびに天井から雨漏りがしますが、{OPP}は修理に応じてくれません。
            契約書には、退去時のハウスクリーニング代を借主が負担するという特約があります。
            {DT}に、建物の建替えを理由として{N}以内に退去するよう求められました。
            {PL}で購入した中古住宅に、引渡しの後でシロアリの被害が見つかりました。
            隣地の所有者が、塀の位置が境界を越えていると言い出しました。
        """),
        _w("""
            この請求にはすべて応じなければならないのでしょうか?
            家賃の値上げを拒むことはできますか?
            敷金を返してもらうにはどうすればよいですか?
            {WHO}としてはどのような対応が取れるでしょうか?
            修繕をしてもらうための方法を教えてください。
            立ち退き料を求めることはできますか?
            売主に修理費用を請求できるのでしょうか?
        """),
        _w("原状回復の範囲 特約の有効性 賃料増額の協議 敷金返還の流れ 修繕義務の所在 受忍限度の考え方 立ち退きの正当事由 境界確定の方法"),
        _w("大家 管理会社の担当者 管理会社の{CO} 貸主 隣人 上階の住人 売主 仲介業者の{CO} オーナーの{SN}さん 大家の{SN}さん"),
        _w("""敷金 原状回復費用 壁紙の張替え費用 更新料 月々の家賃 ハウスクリーニング代 雨漏りの修繕費 立ち退き料 共益費
            鍵の交換費用 境界の塀 給湯器の故障 駐車場の区画 シロアリの被害 退去時の精算書"""),
        _w("""原状回復義務 通常損耗 経年劣化 特約の有効性 賃料増減額請求 正当事由 修繕義務 受忍限度 契約不適合責任
            信頼関係の破壊 敷金返還請求権 境界確定 消費者契約法による無効"""),
        _w("""敷金返還の少額訴訟 賃料増額の調停 修繕の催告 家賃の供託 退去立会いのやり直し 境界確定訴訟 筆界特定の申請
            立ち退き条件の交渉 管理会社への書面での申入れ 契約解除の通知"""),
        _w("賃貸借契約書 重要事項説明書 入居時の写真 退去時の立会い記録 修繕の見積書 精算書 家賃の振込記録 騒音の録音 管理会社とのメール 測量図 売買契約書"),
        _w("""全面張替えの費用を請求してきた 家賃の値上げを通知してきた 修理の依頼を放置した 敷金の返還を先延ばしにした
            退去を求めてきた 立会いで署名を迫った 合鍵で部屋に入った 境界を越えて塀を建てた 一方的に契約を打ち切った
            説明と違う設備を引き渡した"""),
        _w("簡易裁判所 法務局 消費生活センター 自治体の住宅相談窓口 宅建協会の相談窓口"),
    ),
    Category(
        "koutsujiko",
        "交通事故",
        _w("出会い頭の事故の過失割合 後遺障害の認定 自転車事故の賠償 休業損害の計算 物損事故の修理費 当て逃げの補償 通院慰謝料の相場 示談金の増額 治療費の打切り 代車費用の請求"),
        _w("""
            {WHO}は見通しの悪い交差点で、右から来た車と出会い頭に衝突しました。
            信号待ちで停車していたところ、後ろから来た車に追突されました。
            自転車で歩道を走っていた際に歩行者と接触し、相手にけがをさせてしまいました。
            事故から{N}通院を続けていますが、首の痛みが取れません。
            {OPP}から、過失割合は七対三だと一方的に伝えられています。
            けがのため{N}ほど仕事を休みましたが、休業中の収入の補償がまだ決まっていません。
            駐車場に止めていた車に傷がついており、相手は名乗らずに立ち去っていました。
            {DT}に、保険会社から治療費の支払いを今月で打ち切ると言われました。
            修理の見積もりは{A}でしたが、保険会社は時価額までしか払えないと言っています。
            事故は{PL}の交差点で起き、相手の車にはドライブレコーダーがついていました。
        """),
        _w("""
            提示された過失割合に納得できない場合、どうすればよいでしょうか?
            後遺障害の認定を受けるにはどうすればよいですか?
            {WHO}が負う賠償責任はどの程度になるのでしょうか?
            休んだ分の収入は補償してもらえますか?
            保険会社との交渉で気をつける点を教えてください。
            治療を続けたい場合、どうすればよいのでしょうか?
            提示された示談金は妥当な金額なのでしょうか?
        """),
        _w("過失割合の決まり方 後遺障害等級の認定 休業損害の算定 物損の賠償範囲 自転車保険の役割 示談交渉の進め方 慰謝料の基準 治療費打切りへの対応"),
        _w("相手の運転手 加害者 相手方の保険会社 保険会社の担当者 相手方 加害者の{SN}さん 担当者の{SN}さん 相手の運転手の{SN}さん"),
        _w("""過失割合 修理費 代車費用 治療費 通院慰謝料 休業損害 後遺障害の等級 示談金 車の時価額 評価損 通院交通費
            自転車保険 人身傷害保険 ドライブレコーダーの映像"""),
        _w("""過失割合 後遺障害の認定 休業損害 逸失利益 症状固定 治療の必要性 相当因果関係 評価損 全損の判断 使用者責任
            運行供用者責任 損害賠償請求権の時効 素因減額 裁判所の基準での慰謝料"""),
        _w("""被害者請求 異議申立て 示談交渉 交通事故紛争処理センターへの申立て 損害賠償請求訴訟 人身事故への切替え
            後遺障害診断書の作成依頼 実況見分調書の取り寄せ 弁護士費用特約の利用 物損の少額訴訟"""),
        _w("交通事故証明書 実況見分調書 診断書 診療報酬明細書 修理見積書 ドライブレコーダーの映像 事故現場の写真 休業損害証明書 源泉徴収票 通院の記録 保険証券"),
        _w("""一方的に過失割合を示してきた 治療費の支払いを打ち切った 低い示談金を提示してきた 事故の状況について説明を変えた
            連絡を返さなくなった 現場から立ち去った 修理費の一部しか認めなかった 通院の回数に口を出してきた
            人身事故への切替えを嫌がった 示談書への署名を急かした"""),
        _w("交通事故紛争処理センター 警察署 自賠責保険の損害調査事務所 簡易裁判所 地方裁判所"),
    ),
    Category(
        "shouhisha",
        "消費者トラブル",
        _w("子どものオンラインゲーム課金 訪問販売の屋根修理 フリマアプリの偽物 定期購入の解約 エステの中途解約 ネット通販の返品 投資話の勧誘 点検商法の被害 結婚相談所の解約 不用品回収の高額請求"),
        _w("""
            小学生の子どもが、{WHO}のスマートフォンでゲームに{A}も課金していました。
            突然訪ねてきた業者に屋根が壊れていると言われ、その場で修理の契約をしてしまいました。
            フリマアプリで購入したブランドのバッグが、鑑定の結果偽物だと分かりました。
            初回だけ安いと思って申し込んだサプリメントが、実は定期購入の契約になっていました。
            エステの回数券を{K}回分購入しましたが、引っ越しのため通えなくなりました。
            ネット通販で注文した家電が説明と違ったため返品を求めましたが、断られています。
            {DT}に、知人から紹介された投資話に{A}を振り込んでしまいました。
            {OPP}は、解約するなら違約金として{A}を払うように言ってきました。
            不用品回収を頼んだところ、作業の後で見積もりの何倍もの料金を請求されました。
            契約書を受け取ったのは{DT}で、まだ数日しかたっていません。
        """),
        _w("""
            支払ったお金を取り戻す方法はありますか?
            この契約はクーリング・オフできるのでしょうか?
            {WHO}は販売者に何を請求できますか?
            途中で解約した場合の費用はどうなるのでしょうか?
            業者との交渉の進め方を教えてください。
            違約金は払わなければならないのでしょうか?
            振り込んだお金を取り戻すことはできますか?
        """),
        _w("未成年者取消しの要件 クーリング・オフの期間 特定商取引法の規制 中途解約のルール 返品特約の確認 消費生活センターの利用 違約金の上限 詐欺による取消し"),
        _w("販売業者 業者 運営会社 出品者 販売元の{CO} 店舗の担当者 営業担当者の{SN}さん 事業者 施工業者の{CO}"),
        _w("""課金した金額 修理代金 違約金 解約料 返品送料 回数券の残り 定期購入の代金 偽物のバッグ 投資名目で振り込んだお金
            作業代金 クレジットカードの請求 分割払いの残金 初回の割引価格 サプリメントの代金"""),
        _w("""クーリング・オフ 未成年者取消し 詐欺による取消し 錯誤 消費者契約法 特定商取引法 不当条項 中途解約権 返品特約
            不実告知 過量販売 表示義務違反 支払停止の抗弁 債務不履行"""),
        _w("""クーリング・オフの通知 契約の取消しの通知 カード会社への支払停止の申出 消費生活センターへの相談 返金請求
            少額訴訟 警察への被害相談 口座凍結の依頼 被害回復給付金の申請 事業者との書面での交渉"""),
        _w("契約書面 領収書 クレジットカードの利用明細 購入画面の画像 広告の画面 業者とのメール 振込の控え 商品の写真 鑑定書 課金の履歴 見積書"),
        _w("""解約を認めなかった 違約金を請求してきた 返品を断った 契約書面を渡さなかった 不安をあおって契約させた 連絡を絶った
            説明と違う商品を送ってきた 見積もりより高い料金を請求した 定期購入であることを隠していた 強引に居座った"""),
        _w("消費生活センター 国民生活センター 警察の相談窓口 カード会社の窓口 簡易裁判所 消費者ホットライン"),
    ),
    Category(
        "saiken",
        "債権回収",
        _w("取引先の売掛金 個人への貸金の返済 給与の差押え 廃業した取引先 デザイン料の未払い 支払督促の利用 連帯保証人への請求 分割払いの約束 家賃の回収 時効の管理"),
        _w("""
            {WHO}はフリーランスで、取引先から受けた仕事の報酬{A}がまだ支払われていません。
            友人に貸した{A}を返してほしいと伝えたところ、連絡がつかなくなりました。
            取引先が突然事業をやめてしまい、売掛金を回収できるか分からなくなりました。
            判決で支払いが命じられたのに、{OPP}は{N}たっても一円も払っていません。
            納品したデザインについて、修正が終わっていないことを理由に支払いを拒まれています。
            相手とのやり取りはほとんどがメッセージアプリで、正式な契約書は作っていません。
            {DT}に、毎月{SA}ずつ返すという約束をしてもらいました。
            {OPP}は、支払いはもう少し待ってほしいと言うばかりです。
            最後に入金があったのは{DT}で、それ以降は何の連絡もありません。
            貸したときには、{OPP}の父親が連帯保証人になると言っていました。
        """),
        _w("""
            未払いの代金を回収するにはどうすればよいでしょうか?
            相手の給与を差し押さえることはできますか?
            契約書がなくても請求できるのでしょうか?
            {WHO}が今からできることは何でしょうか?
            回収の手段と費用の目安を教えてください。
            時効が迫っている場合はどうすればよいですか?
            保証人に請求することはできるのでしょうか?
        """),
        _w("内容証明郵便による督促 支払督促の手続き 強制執行の準備 消滅時効の管理 証拠の整理 少額訴訟の活用 保証人への請求 財産の調査方法"),
        _w("取引先 取引先の{CO} 債務者 友人の{SN}さん 元同僚の{SN}さん 発注者 発注元の{CO} 相手方"),
        _w("""売掛金 貸したお金 報酬 未払いの代金 遅延損害金 分割払いの残金 判決で認められた金額 立て替えた費用 保証債務
            相手の預金口座 相手の給与 取引先の在庫 請求書の控え 借用書"""),
        _w("""消滅時効 時効の更新 債務承認 期限の利益の喪失 連帯保証人の責任 強制執行 債務名義 財産開示 相殺 契約の成立
            請負代金の支払時期 遅延損害金の利率 詐害行為取消権 債権譲渡"""),
        _w("""内容証明郵便による督促 支払督促の申立て 少額訴訟 通常訴訟 仮差押えの申立て 財産開示手続 第三者からの情報取得手続
            給与の差押え 預金の差押え 分割払いの合意書の作成 保証人への請求"""),
        _w("借用書 請求書 見積書 納品の記録 メッセージアプリのやり取り 振込の記録 判決書 契約書 発注メール 領収書 債務を認めた書面"),
        _w("""支払いを先延ばしにした 連絡を絶った 事業をたたんだ 修正を口実に支払いを拒んだ 一部だけ振り込んできた
            返済の約束を破った 住所を移した 財産を家族名義に移した 支払いの事実を否定した 減額を求めてきた"""),
        _w("簡易裁判所 地方裁判所 執行官室 公証役場 法務局 商工会議所の相談窓口"),
    ),
    Category(
        "kojinjoho",
        "個人情報保護・情報漏洩",
        _w("委託先からの顧客情報流出 書類の紛失 防犯カメラの映像 名簿の持ち出し 誤送信による漏えい 退職者による情報持ち出し 開示請求への対応 不正アクセスの被害 従業員のSNS投稿 利用目的の変更"),
        _w("""
            {WHO}は通信販売の会社で総務を担当しており、顧客データの管理を外部に委託しています。
            {OPP}から、不正アクセスにより約{KN}件の顧客情報が流出した可能性があると連絡がありました。
            社員が顧客の申込書を入れた鞄を電車に置き忘れ、まだ見つかっていません。
            店舗に設置した防犯カメラの映像を見せてほしいと、近所の住民から求められています。
            退職した営業担当者が、顧客名簿を持ち出して競合他社で使っているようです。
            担当者が取引先一覧を添付したメールを、誤って社外の宛先に送ってしまいました。
            {DT}に、元顧客から自分の情報をすべて開示するよう求める書面が届きました。
            アルバイトの従業員が、店内で撮った客の写真をSNSに載せていたことが分かりました。
            {N}前に集めたアンケートの回答を、新しいサービスの案内に使う計画があります。
            漏えいの対象には、顧客の氏名と住所のほか、購入履歴も含まれていました。
        """),
        _w("""
            会社としてどのような対応をとるべきでしょうか?
            個人情報保護委員会への報告は必要ですか?
            {WHO}の会社はどこまで責任を負うのでしょうか?
            本人への通知はどのように行えばよいですか?
            再発を防ぐための対策を教えてください。
            開示の求めにはすべて応じなければならないのでしょうか?
            従業員に対してどのような処分ができますか?
        """),
        _w("漏えい時の初動対応 委員会への報告義務 本人への通知 委託先の監督 安全管理措置 再発防止策の策定 開示請求への対応 利用目的の特定"),
        _w("委託先 委託先の{CO} 元社員 退職した営業担当者 システム会社の{CO} 担当者 元顧客の{SN}さん 取引先"),
        _w("""顧客情報 顧客名簿 申込書 防犯カメラの映像 取引先一覧 購入履歴 従業員の個人情報 アンケートの回答
            会員のメールアドレス クレジットカード情報 委託契約書 アクセスログ 社内の共有フォルダ 保存期間を過ぎたデータ"""),
        _w("""漏えい等の報告義務 本人への通知義務 委託先の監督義務 安全管理措置 要配慮個人情報 第三者提供の制限 利用目的の特定
            保有個人データの開示 営業秘密の侵害 使用者責任 不正競争防止法 肖像権 プライバシーの侵害"""),
        _w("""個人情報保護委員会への報告 本人への通知 委託先への調査依頼 社内調査 警察への被害届の提出 差止請求
            損害賠償請求 再発防止策の策定 従業員への研修 委託契約の見直し 開示請求への回答 問い合わせ窓口の設置"""),
        _w("委託契約書 アクセスログ 社内規程 誓約書 漏えいした項目の一覧 入退室の記録 メールの送信記録 研修の記録 点検の報告書 顧客への通知文 開示請求書"),
        _w("""漏えいの報告を遅らせた 名簿を持ち出した 誤ってメールを送った 映像の提供を求めてきた 調査への協力を拒んだ
            契約にない再委託をしていた 開示を求める書面を送ってきた 顧客に直接連絡を取った 写真をSNSに載せた 記録を消去した"""),
        _w("個人情報保護委員会 警察のサイバー犯罪相談窓口 業界団体の相談窓口 地方裁判所 商工会議所の相談窓口"),
    ),
)

# Lists shared by every category (P, D and O are added to the category's own).
GRAMMAR: dict[str, tuple[str, ...]] = {
    # Answer sentences: what the answer is made of. Short literal runs, the rest slots.
    "SENT": _w("""
        {COND}、{ME}としては{ADV}{ACTION}{END}。
        {T}については、{REASON}、{D}を{VD}{END}。
        {I}{SCENE}、{D}{KEYROLE}。
        {OPP}が{DT}に{EV}ことは、{I}との関係で{EVAL}。
        {D}を{VDT}おけば、{RES}。
        {P}には{DURATION}、{COST}。
        {E}{CONSULT}、{D}と{D2}を{VDT}おくと{BENEFIT}。
        {REASON}、{FACT}は{ADV}{VD}{END}。
        {ME}の場合、{I}が{JUDGE}。
        {COND}、{RES}。
        {T}の{ASPECT}は、{FACT}をもとに{JUDGE2}。
        {O}では、{I}に関する相談を{OFFER}。
        {OPP}に対しては、{ADV}{FACT}を{SHOW}{END}。
        {FACT}が{D}で裏づけられれば、{RES}。
        {I}{NEEDS}、{REQ}{REQEND}。
        {A}という金額は、{T}の{ASPECT}から見て{AMTEVAL}。
        {DT}から{N}が経っている点は、{I}の判断で{EVAL2}。
        {ME}が{ADV}{ACTION}ことで、{RES}。
        {OPP}が{EV}としても、{ME}が{ACCEPTNEG}。
        {ME}の手元に{D}があるなら、{ACTION}{END}。
        {I}{DISPUTE}、{P}が{OPTION}。
        {ACTION}際には、{D}の{PART}も{VD}{END}。
        {DT}の時点で{FACT}がはっきりしていれば、{RES}。
        {T}と{T2}は、{DIFF}。
        {N}以内に{ACTION}ことができれば、{RES}。
        {ME}にとって大切なのは、{FACT}を{SHOW}ことです。
        {E}に依頼した場合の費用は、{T}の{ASPECT}によって{VARY}。
        {O}に{ASK}と、{RES}。
        {OPP}が{EV}経緯からすると、{I}が{JUDGE}。
        {REASON}、{ME}が{ADV}{ACTION}{END}。
        {T}が{A}程度であれば、{P}を{VP}{END}。
        {I}の有無は、{FACT}や{D}から{JUDGE2}。
        一般に{I}は{GENERAL}。
        {ME}が{DT}に{MYACT}点は、{EVAL}。
        {T}をめぐっては、{OPP}と{ME}の認識が{GAP}。
        {FACT}について{OPP}が説明を拒むなら、{P}を{VP}{END}。
        {I}{SCENE}、{REASON}、{ADV}{ACTION}{END}。
        {COND}、{FACT}を{SHOW}だけでも{RES}。
    """),
    "CONN": _w("""また、 なお、 さらに、 ただし、 一方で、 そのため、 この点、 具体的には、 念のため、 実際には、 加えて、 とはいえ、
        反対に、 とくに、 多くの場合、 実務上は、 一般論としては、 順序としては、 もっとも、 これに対して、 その意味で、 結果として、
        ここで、 いずれにしても、 見方を変えると、 さしあたり、 現時点では、 そのうえで、 経験上、 参考までに、 要するに、
        したがって、 逆にいえば、 付け加えると、"""),
    "ADV": _w("""できるだけ早く 念のため 落ち着いて 一つずつ 並行して 早い段階で 記憶が新しいうちに {DT}までに 期限を意識しながら
        無理のない範囲で 日を置かずに 先に あらかじめ 慎重に 今のうちに 改めて 順を追って 必要に応じて 早めに 冷静に
        遅くとも{N}以内に 手間を惜しまず 焦らずに 具体的に"""),
    "END": _w("""ことが大切です 必要があります のが一般的です ことが考えられます とよいでしょう のが近道です のが無難です
        ことを検討してください ことをおすすめします ことになります ことができます 余地があります のが現実的です ほうが安全です
        のが望ましいといえます ことが求められます こともできます べきでしょう のが先決です ことから始めましょう のが賢明です
        ことも一つの方法です ことが欠かせません のが得策です ようにしてください ことが肝心です のも有効です ことに意味があります
        のが筋といえます ことが多いです のが順当です ことを優先しましょう ことも視野に入ります のが確実です ことで負担が軽くなります
        と後の手続きが楽になります のが理想的です ことで争いを防げます"""),
    "VD": _w("""確かめる 集める 残す 整理する 保管する 見直す 書き出す 控えておく 撮影しておく 日付順に並べる 取り寄せる
        手元にそろえる コピーしておく 読み返す 時系列にまとめる 入手する 用意する 専門家に見せる 原本のまま保管する 見落としなく確認する"""),
    "VDT": _w("確かめて 集めて 残して 整理して 保管して 見直して 書き出して 撮影して 日付順に並べて 取り寄せて 手元にそろえて コピーして 時系列にまとめて 入手して 用意して 控えて"),
    "VP": _w("検討する 進める 視野に入れる 利用する 選ぶ 急ぐ 準備する 先に済ませる 並行して進める 見送る 候補に入れる 試みる 具体的に考える 早めに始める 後回しにしない 段取りよく進める"),
    "E": _w("弁護士 司法書士 法律の専門家 地元の弁護士 この分野に詳しい弁護士 法律事務所 専門家 経験のある弁護士"),
    "TALK": _w("話し合う 条件を詰める 改めて協議する 書面でやり取りする 連絡を取り合う 落としどころを探る"),
    "ACTION": _w("""{P}を{VP} {P}を{VP} {D}を{VD} {OPP}と{TALK} {E}に相談する {O}に問い合わせる 事実関係を時系列で整理する
        {T}の状況を把握する {T}の{ASPECT}を確かめる {OPP}に{D}の提出を求める {OPP}に書面での回答を求める {FACT}を記録に残す
        {I}について{E}の意見を聞く {D}と{D2}を{VD}"""),
    "COND": _w("""{OPP}が話し合いに応じない場合 {OPP}から返事がないときは {DT}以降のやり取りが残っていれば {N}以上そのままになっている場合
        {D}が見当たらないときでも 期限が迫っているなら {OPP}が事実を認めているのであれば 証拠が十分にそろっていれば
        当事者同士で合意できたなら {E}に依頼するのであれば {O}を利用するなら 請求額が{A}程度であれば {T}の扱いで意見が分かれたときは
        {I}が争われた場合 {OPP}が{EV}のであれば 話し合いがまとまらなければ 書面が一切ない場合 {ME}の側にも落ち度があるときは
        事実関係に争いがなければ 相手に代理人がついたときは 手元の資料だけでは足りない場合 費用を抑えたいのであれば 時間をかけられないなら
        {DT}より前の分については {N}のうちに決着をつけたいなら {OPP}の連絡先が分からなくなったら 感情的な対立が深い場合
        {T}が{OPP}の手元にあるなら {A}を超える負担が見込まれるときは"""),
    "RES": _w("""{I}が問題になります {I}が認められる可能性があります {T}について争う余地が出てきます {P}に進むことも考えられます
        {OPP}の主張は通りにくくなります {ME}の立場が不利になるとは限りません 解決まで{N}ほどかかることがあります
        {A}程度の費用がかかる場合もあります 相手に支払いを求める根拠になります 交渉の材料として使えます 結論が変わることもあります
        {O}の手続きを使う道が開けます 手続きをやり直す必要が出てきます 相手も態度を改めることが少なくありません
        {E}の助言を受けながら進められます 請求できる範囲が広がることがあります {T}の扱いを改めて話し合うことになります
        {A}の請求が現実味を帯びてきます 後から反論されにくくなります {D}が決め手になることがあります {OPP}が譲歩してくる場合もあります
        争点を絞り込むことができます {I}の主張が通りやすくなります {T}の取り戻しも期待できます"""),
    "REASON": _w("""後から事実を示すのは難しいため 記録は時間とともに失われやすいため {OPP}の主張が変わることもあるので 裁判所は書面を重視するため
        期限を過ぎると権利を失うおそれがあるため {I}の判断は細かな事情で変わるので {OPP}の出方が読めない以上 話し合いが長引くと負担が増えるため
        費用倒れになる可能性もあるので 口頭のやり取りは記録に残らないため 一度合意すると覆すのは難しいため {N}を過ぎると選べる手段が減るため
        相手が同じ資料を持っているとは限らないので 時効の問題が絡むこともあるため 第三者から見て分かる形が求められるため
        感情的になると交渉がこじれやすいので {T}の価値は時期によって変わるため 証拠の有無が結論に直結するため 事情によって結論が分かれるので
        {DT}の出来事が起点になるため"""),
    "FACT": _w("""{DT}に{OPP}から届いた連絡 {A}の支払い {N}前のやり取り {DT}の話し合いの内容 {OPP}が示した条件 {ME}が受け取った{D}
        {T}の現在の状況 {DT}ごろまでの経緯 {A}という金額の根拠 {OPP}との間で交わした約束 {DT}以降の出来事 {K}回にわたるやり取り
        {OPP}が{EV}事実 {T}をめぐる経緯 {N}の間に起きたこと"""),
    "SCENE": _w("が問題になる場面では が争点になったときは を主張する際には をめぐる話し合いでは が絡むケースでは の判断にあたっては を検討する段階では について争う場合"),
    "KEYROLE": _w("""の内容が結論を左右します が重要な手がかりになります の有無で見通しが大きく変わります が有力な証拠になり得ます をもとに判断されることが多いです の記載が細かく確認されます
        の日付が意味を持つことがあります を軽く見ないようにしましょう"""),
    "EVAL": _w("重要な意味を持ちます 軽視できません 見過ごせない事情です 有利な材料になり得ます 慎重に評価する必要があります 相手に説明を求めるべき点です 記録に残しておく価値があります 後で争点になりやすい部分です"),
    "EVAL2": _w("考慮されます 無視できない事情です 重要になります 見落とされがちです 大きな意味を持ちます 検討の対象になります"),
    "JUDGE": _w("""認められるかどうかが一つの分かれ目です 主な争点になりそうです 中心的な論点になると考えられます 問題になる余地があります それほど難しくないと思われます 否定される可能性は低いでしょう
        正面から争われることになるでしょう まず確認すべき点です"""),
    "JUDGE2": _w("判断されます 決まるのが通常です 考えることになります 整理されます 見積もるのが一般的です 評価されることが多いです 検討されます"),
    "ASPECT": _w("扱い 評価 範囲 金額 帰属 見通し 内訳 根拠 時期 経緯"),
    "SHOW": _w("書面で示す 具体的に伝える 根拠とともに説明する 改めて確認する はっきり指摘する 時系列で説明する 記録として残す"),
    "DURATION": _w("{N}ほどかかるのが一般的で 早ければ{N}で終わることもあり {N}以上かかる例も珍しくなく おおむね{N}を見込んでおく必要があり 準備を含めると{N}前後かかり"),
    "COST": _w("費用は{A}前後が目安です {A}ほどの出費を見込んでおくと安心です 実費だけなら{A}に収まることもあります 着手金として{A}程度を求められることがあります 費用の負担は事務所によって差があります"),
    "CONSULT": _w("に相談する際は へ依頼するのであれば に見てもらう前に の面談を受けるときは に連絡する前に と打ち合わせるときは"),
    "BENEFIT": _w("話が早く進みます 見通しを聞きやすくなります 無駄な費用を抑えられます 助言が具体的になります 手続きの準備が一度で済みます 聞き漏らしを防げます 相談の時間を有効に使えます"),
    "NEEDS": _w("を主張するには が認められるためには を争うのであれば を理由にするなら を相手に認めさせるには を前提に交渉するなら"),
    "REQ": _w("{D}などの客観的な資料 {FACT}を示す記録 {DT}以降の経緯の説明 相手の認識を示すやり取り 具体的な金額の根拠 {D}と{D2}の両方 第三者の証言"),
    "REQEND": _w("が必要です をそろえる必要があります が欠かせません が求められます を示すことが重要になります を用意しておきましょう"),
    "AMTEVAL": _w("高すぎるとはいえません 相場より高めといえます 妥当かどうか検討の余地があります 交渉で下げられる可能性があります 争う価値のある額です 根拠を確かめるべき額です 一概に不当とはいえません"),
    "ACCEPTNEG": _w("""すぐに応じる必要はありません その場で署名する義務はありません 言われるまま支払う必要はありません 一人で対応しなければならないわけではありません 直ちに結論を出す必要はありません
        反論をあきらめる理由にはなりません"""),
    "DISPUTE": _w("で折り合わない場合 をめぐって対立が続くなら について争いになったときは で話が平行線になったら が認められないと言われたら"),
    "OPTION": _w("選択肢になります 現実的な手段です 次の一手になります 候補に挙がります 有力な方法です 検討に値します"),
    "PART": _w("日付 署名 記載内容 送り主 枚数 余白の書き込み 金額の欄 宛名"),
    "DIFF": _w("""扱いが異なるため分けて考えましょう 同じ基準で判断されるとは限りません まとめて話し合うと整理しやすくなります 別々に証拠を集める必要があります 優先順位をつけて対応するのが現実的です
        一方だけ先に決めることもできます"""),
    "VARY": _w("大きく変わります {A}から{A2}程度まで幅があります 事務所ごとに異なります かなりの差が出ます 見積もりを取って比べるのが確実です"),
    "ASK": _w("問い合わせる 相談の予約を入れる 必要書類を確認する 手続きの流れを聞く 費用の目安を尋ねる 窓口の受付時間を確かめる"),
    "OFFER": _w("無料で受け付けていることがあります 予約制で受け付けています 電話でも受け付けている場合があります 平日の日中に受け付けています 初回に限り無料で受けられることがあります"),
    "GENERAL": _w("""事案ごとの事情を総合して判断されます 証拠によって結論が左右されやすい分野です 早めの対応で結果が変わることの多い問題です
        当事者の話し合いで決まることも多い問題です 裁判例の積み重ねで基準が形づくられてきました 法律の条文だけでは結論が出にくい問題です
        一般の方には分かりにくい部分が多い論点です 相手との力関係に左右されやすい問題です"""),
    "MYACT": _w("{OPP}に連絡した {D}を受け取った {A}を支払った {O}に相談した 話し合いを申し入れた {OPP}に書面を送った {T}について確認を求めた"),
    "GAP": _w("食い違っているようです 一致していない可能性があります 大きくずれている点に注意が必要です かみ合っていないように見えます もともと異なっていたのかもしれません"),
    # The answer's first sentence restates the case (teasers show it: it differs from page to page), then
    # perhaps says how the answer goes on; the closing paragraph (section まとめ) and list items.
    "ECHO": _w("""{WHO}が{OPP}との間で抱えている{T}の問題について、{I}を中心にお答えします。
        {DT}から続く{OPP}とのやり取りを踏まえると、{WHO}がまず確かめるべきは{I}です。
        {WHO}のご相談は、{T}をめぐって{OPP}と意見が分かれているという内容ですね。
        {OPP}から{A}の支払いを求められている{WHO}の件は、{I}の見方で結論が変わります。
        {WHO}、ご相談ありがとうございます。{OPP}との{T}の件について、順を追って説明します。
        {T}をめぐる{OPP}の対応に{WHO}が納得できないのはもっともで、{I}が問題の中心になります。
        {PL}での{T}の件で{OPP}と話がまとまらないなら、{WHO}はまず{D}を{VD}ことから始めましょう。
        {WHO}が{DT}に{OPP}から受けた連絡の内容によっては、{I}を主張できる可能性があります。
        結論からお伝えすると、{WHO}の{T}の件は{I}をどう評価するかで見通しが分かれます。
        {OPP}との話し合いが{N}以上進まない{WHO}のケースでは、{P}を視野に入れる段階です。"""),
    "PLAN": _w("""{T}と{I}の二つに分けて説明します。 結論を先にお伝えし、その後で理由を説明します。 順を追って、取るべき対応を整理します。
        まず前提となる考え方を確認しましょう。 {I}を中心に、考えられる手段をお話しします。 {T}の扱いから順に見ていきます。
        法律上の考え方と実際の進め方を分けてお答えします。"""),
    "CLOSE": _w("{CLOSE1}{CLOSE2}"),
    "CLOSE1": _w("""{T}の件は、{I}をどう評価するかが鍵になります。 今回のケースでは、{FACT}をどう示すかが重要です。
        ここまでの内容を整理すると、{ADV}{ACTION}ことが第一歩です。 {I}については、{REASON}、早めの準備が欠かせません。
        {OPP}との関係を考えると、{P}を{VP}のが現実的な道筋です。"""),
    "CLOSE2": _w("""一人で抱え込まず、{E}に相談しながら進めてください。 {O}など身近な窓口も活用してみてください。
        {N}以内を目安に、次の行動を決めておきましょう。 状況が変わったら、その都度見直すことをおすすめします。
        {ME}にとって納得のいく解決になるよう願っています。 手元の{D}を持参すれば、相談はよりスムーズになります。"""),
    "BULLET": _w("""{D} {D}の写し {DT}ごろの{D} {OPP}とのやり取りの記録 {A}の支払いを示す資料 {T}に関する資料 経緯を時系列でまとめたメモ
        {O}に相談した際の記録 {DT}以降のメールやメッセージ {D}の原本 {T}の{ASPECT}が分かる書類 {FACT}のメモ"""),
    "HEAD": _w("{T}の{HASP} {I}について {I}の{HASP} {P}の流れ {P}の準備 {T}と{I}"),
    "HASP": _w("考え方 注意点 確認方法 見通し 進め方 期限 判断基準 扱い ポイント 整理"),
    # The consultation: story sentences' openers, the asker's feelings and questions any category can ask.
    "CPRE": _w("その後、 さらに、 加えて、 実は、 {DT}ごろから、 最近になって、 ちなみに、"),
    "FEEL": _w("""{N}ほど悩み続けていますが、解決の糸口が見えません。 家族にも相談しにくく、一人で抱えている状態です。
        仕事にも集中できず、困り果てています。 {OPP}とはこれ以上直接やり取りをしたくありません。
        できれば穏便に済ませる方法を探しています。 相手の言い分が正しいのかどうか、自分では判断がつきません。
        手元には{D}が残っています。 これまでに{O}にも問い合わせましたが、はっきりした答えはもらえませんでした。
        {DT}以降、話し合いは止まったままです。 費用がどのくらいかかるのかも心配しています。"""),
    "GQ": _w("""このような場合、どう対応するのがよいでしょうか? {OPP}に対して何か請求できることはありますか?
        弁護士に依頼すべきか迷っていますが、どう考えればよいですか? 今後の見通しを教えてください。
        手続きにかかる費用や期間も知りたいです。"""),
}
GENERIC_PROCEDURES = _w("""内容証明郵便の送付 調停の申立て 民事訴訟の提起 示談交渉 証拠保全 和解の協議 書面による催告 裁判外紛争解決手続の利用
    通知書の送付 交渉経過の記録づくり 専門家への依頼 合意書の作成 代理人を通じた交渉 法律相談の予約""")
GENERIC_DOCUMENTS = _w("メールの記録 メッセージの履歴 手書きのメモ 日付入りの写真 通話の録音 経緯をまとめたメモ 振込の記録 第三者の証言 手帳の書き込み やり取りの控え 契約書の写し 関係する通知")
GENERIC_OFFICES = _w("弁護士会の相談窓口 自治体の無料法律相談 法テラス 裁判所の窓口")
GENERIC_HEADS = ("はじめに", "基本的な考え方", "注意点", "証拠の確保", "手続きの流れ", "相談先", "費用の目安", "今後の対応")
CLOSING_HEAD = "まとめ"
TOPIC_ONLY = (
    "{topic}で困っている",
    "{topic}について家族と意見が分かれている",
    "{topic}がうまく進まず不安を感じている",
    "{topic}をめぐって相手と話がまとまらない",
)
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
BACKGROUND_MARKERS = (" (背景)", "（背景）", " 【背景】", " 背景：", "背景として、")
TEXT_GAPS = (1, 2, 2, 4, 0)  # blank lines between paragraphs in a text dump (0: single newlines)
# Names and numbers made per page: surnames and places from two kanji, companies from kana and a trade.
_NAME_FIRST = "山川田村木森石松竹高中小大西東北南上下岡島野原本井沢谷橋藤宮浜金長吉今平広福三桜青白黒赤古新早秋星岩杉柳梅菊桑坂堀"
_NAME_SECOND = "田川村本木山野原島井口沢崎谷岡部内尾藤橋森瀬浦池江城坂畑倉"
_KANA = "アイエオカキクケコサシスセソタチテトナニノハヒフホマミムメモヤユヨラリルレロワ"
_TRADES = _w("商事 工業 物産 興産 企画 建設 不動産 運輸 システム サービス 電機 フーズ ホーム 精工 産業 設計 通商 技研")
_PLACE_ENDS = _w("町 台 ヶ丘 市 区 村 通り")
_ME = ("相談者様", "ご相談者", "ご相談者様", "質問者様", "あなた")
_SLOT = re.compile(r"\{(\w+)\}")


def _parse(template: str) -> tuple[str, ...]:
    """A template as (literal, slot, literal, slot, ..., literal)."""
    return tuple(_SLOT.split(template))


def _expand(parts: tuple[str, ...], pools: dict[str, tuple[tuple[str, ...], ...]], random) -> str:
    """Fill a parsed template: each slot takes a random entry of its pool, expanded in turn."""
    out = parts[0]
    last = 0
    for i in range(1, len(parts), 2):
        slot = parts[i]
        pool = pools[slot]
        n = len(pool)
        if slot[-1] == "2" and n > 1:  # {D2} after {D}: another entry of the same pool
            j = (last + 1 + int(random() * (n - 1))) % n
        else:
            j = int(random() * n)
        last = j
        entry = pool[j]
        out += entry[0] if len(entry) == 1 else _expand(entry, pools, random)
        out += parts[i + 1]
    return out


@dataclasses.dataclass(frozen=True)
class _Table:
    """A category's lists, parsed: `windows` are (slot, entries twice over, count) for the page's slices."""

    windows: tuple[tuple[str, tuple[tuple[str, ...], ...], int], ...]
    full: dict[str, tuple[tuple[str, ...], ...]]
    roles: tuple[tuple[str, ...], ...]
    situations: tuple[tuple[str, ...], ...]
    questions: tuple[tuple[str, ...], ...]


def _table(category: Category) -> _Table:
    lists = {
        **GRAMMAR,
        "T": category.things, "I": category.issues, "EV": category.events,
        "P": category.procedures + GENERIC_PROCEDURES, "D": category.documents + GENERIC_DOCUMENTS,
        "O": category.offices + GENERIC_OFFICES,
    }  # fmt: skip
    full = {slot: tuple(map(_parse, entries)) for slot, entries in lists.items()}
    windows = tuple((slot, entries * 2, len(entries)) for slot, entries in full.items() if slot != "CLOSE")
    questions = tuple(map(_parse, category.questions + GRAMMAR["GQ"]))
    return _Table(windows, full, tuple(map(_parse, category.roles)), tuple(map(_parse, category.situations)), questions)


_TABLES = {category.slug: _table(category) for category in CATEGORIES}


def _surname(random) -> str:
    first = _NAME_FIRST[int(random() * len(_NAME_FIRST))]
    second = _NAME_SECOND[int(random() * len(_NAME_SECOND))]
    return first + (second if second != first else "谷")


def _company(random) -> str:
    name = "".join(_KANA[int(random() * len(_KANA))] for _ in range(2 + int(random() * 2)))
    trade = _TRADES[int(random() * len(_TRADES))]
    return ("株式会社" if random() < 0.6 else "") + name + trade


def _date(random) -> str:
    year, month, day = 2019 + int(random() * 6), 1 + int(random() * 12), 1 + int(random() * 28)
    shape = random()
    if shape < 0.45:
        return f"{year}年{month}月{day}日"
    if shape < 0.8:
        return f"{year}年{month}月"
    return f"{month}月{day}日"


def _amount(random) -> str:
    shape = random()
    if shape < 0.55:
        return f"{int(3 * 300 ** random())}万円"
    if shape < 0.8:
        return f"{1 + int(random() * 98)}万{1 + int(random() * 9)}千円"
    return f"{1000 + 100 * int(random() * 980):,}円"


def _period(random) -> str:
    shape = random()
    if shape < 0.4:
        return f"{2 + int(random() * 10)}か月"
    if shape < 0.65:
        return f"{1 + int(random() * 6)}年"
    if shape < 0.85:
        return f"{3 + int(random() * 85)}日"
    return f"{2 + int(random() * 7)}週間"


def _leaf(*values: str) -> tuple[tuple[str], ...]:
    return tuple((value,) for value in values)


def _words(rng: random.Random, category: Category, who: str) -> dict[str, tuple[tuple[str, ...], ...]]:
    """A page's vocabulary: a slice of every list (so two pages seldom talk alike) and its own names and numbers."""
    random = rng.random
    table = _TABLES[category.slug]
    share = 0.22 + 0.2 * random()
    pools: dict[str, tuple[tuple[str, ...], ...]] = {}
    for slot, twice, n in table.windows:
        start = int(random() * n)
        pools[slot] = twice[start : start + max(min(n, 3), round(n * share))]
    pools["CLOSE"] = table.full["CLOSE"]
    pools["SN"] = _leaf(_surname(random), _surname(random), _surname(random))
    pools["CO"] = _leaf(_company(random))
    place = _NAME_FIRST[int(random() * len(_NAME_FIRST))] + _NAME_SECOND[int(random() * len(_NAME_SECOND))]
    pools["PL"] = _leaf(place + _PLACE_ENDS[int(random() * len(_PLACE_ENDS))])
    pools["WHO"] = _leaf(who)
    pools["ME"] = _leaf(who if random() < 0.15 else _ME[int(random() * len(_ME))])
    pools["DT"] = _leaf(_date(random), _date(random), _date(random))
    pools["A"] = pools["A2"] = _leaf(_amount(random), _amount(random), _amount(random))
    pools["SA"] = _leaf(f"{1000 + 500 * int(random() * 120):,}円")
    pools["N"] = _leaf(_period(random), _period(random), _period(random))
    pools["Y"] = _leaf(f"{2 + int(random() * 20)}年")
    pools["K"] = _leaf(str(2 + int(random() * 30)), str(2 + int(random() * 30)))
    pools["KN"] = _leaf(f"{100 * (2 + int(random() * 400)):,}")
    pools["H"] = _leaf(str(20 + int(random() * 76)))
    role = table.roles[int(random() * len(table.roles))]
    full, short = _expand(role, pools, random), role[0].split("の")[0] or "相手方"  # 兄の{SN}さん, then 兄
    pools["OPP"] = _leaf(full, full, short if len(role) > 1 else ("相手方" if random() < 0.5 else "先方"))
    pools["D2"], pools["T2"] = pools["D"], pools["T"]
    return pools


# ---------------------------------------------------------------------------------------------------
# One page


@dataclasses.dataclass(frozen=True)
class Related:
    question: str  # the recommended page's consultation, whole
    teaser: str  # the first 39 characters of its answer, shown with "..." (or "…")
    ellipsis: str
    url: str
    serial: int  # the recommended page (negative: published before the site's first scraped page)


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


def page_format(seed: int, serial: int, html_share: float) -> str:
    return "html" if _rng(seed, serial, "format").random() < html_share else "text"


@dataclasses.dataclass(frozen=True)
class Card:
    """What a page is first made of, and what other pages' recommendation blocks show of it."""

    category: Category
    url: str
    consultation: tuple[str, ...]  # as the page shows it
    shown: str  # the consultation in a recommendation block: whole, without a background marker
    opening: str  # the answer's first sentence, longer than a teaser; the same in every version


def _case(seed: int, serial: int) -> tuple[Card, dict]:
    """Page `serial`'s card and its words (its vocabulary: every version talks of the same case)."""
    rng = _rng(seed, serial)
    category = CATEGORIES[rng.randrange(len(CATEGORIES))]
    who = rng.choice(LETTERS) + "さん"
    words = _words(_rng(seed, serial, "words"), category, who)
    consultation, shown = _consultation(rng, category, who, words)
    posted = FIRST_POST + dt.timedelta(seconds=serial * 97 + rng.randrange(90))
    url = f"{SITE}/{category.slug}/{posted:%Y%m%d%H%M%S}-{rng.randint(1, 9)}"
    return Card(category, url, consultation, shown, _opening(_rng(seed, serial, "opening"), words)), words


# Pages recommend pages published near them, so one page's card is asked for by the pages around it (and
# the older pages' by many): cached, a page's block costs lookups, not ten pages' worth of text.
@functools.lru_cache(maxsize=1 << 15)
def _card(seed: int, serial: int) -> Card:
    return _case(seed, serial)[0]


def _opening(rng: random.Random, words: dict) -> str:
    """The answer's first sentence, restating the case, long enough for a teaser to be cut inside it (every
    ECHO template nearly always is: its literal text alone is 30 characters or more)."""
    while len(opening := _expand(_choice(words["ECHO"], rng.random), words, rng.random)) <= TEASER_CHARS + 5:
        pass
    return opening


def make_page(seed: int, serial: int, version: int = 0, fmt: str = "text") -> Page:
    """Page `serial` of the corpus, in its `version`-th content (the answer changes; nothing else)."""
    card, words = _case(seed, serial)
    rng = _rng(seed, serial, "layout")
    ellipsis_line = rng.random() < 0.6
    gap = rng.choice(TEXT_GAPS)
    related = _related_block(seed, serial, card.category)
    post_title = card.consultation[-1][:32] + "…"
    bare = Page(serial, version, fmt, card.category, ellipsis_line, card.consultation, (), related, card.url, post_title, gap)
    target = _rng(seed, serial, "size", version).randint(MIN_TEXT_BYTES + 200, MAX_TEXT_BYTES - 300)
    budget = (target - len(render_text(bare).encode("utf-8"))) // 3  # characters: 3 bytes each in UTF-8
    while True:  # the answer's line breaks are not in the budget: shrink it in the rare case they overflow
        answer = _answer(_rng(seed, serial, "answer", version), card.category, words, card.opening, budget)
        page = dataclasses.replace(bare, answer=answer)
        if len(render_text(page).encode("utf-8")) <= MAX_TEXT_BYTES or budget <= 0:
            return page
        budget -= 100


def _consultation(rng: random.Random, category: Category, who: str, words: dict) -> tuple[tuple[str, ...], str]:
    """The consultation's lines in one of the observed shapes, and the whole of it as recommendation blocks show it."""
    random = rng.random
    table = _TABLES[category.slug]
    picked = sorted(rng.sample(range(len(table.situations)), rng.randint(2, 4)))  # list order: who comes first
    story = [_expand(table.situations[i], words, random) for i in picked]
    for i in range(1, len(story)):
        if random() < 0.3:
            story[i] = _expand(_choice(words["CPRE"], random), words, random) + story[i]
    if random() < 0.6:
        story.append(_expand(_choice(words["FEEL"], random), words, random))
    question = _expand(_choice(table.questions, random), words, random)
    if rng.random() < 0.5:
        question = question.replace("?", "？")
    shape = rng.choices(("marker", "narrative", "quoted", "topic", "title_prefix", "title_line"), (30, 30, 10, 8, 11, 11))[0]
    topic = rng.choice(category.topics)
    if shape == "marker":
        marker = rng.choice(BACKGROUND_MARKERS)
        return (f"{question}{marker}{''.join(story)}",), question + "".join(story)
    if shape == "narrative":
        lines = ("".join(story) + question,)
    elif shape == "quoted":
        lines = (f"「{question}」",)
    elif shape == "topic":
        lines = (rng.choice(TOPIC_ONLY).format(topic=topic),)
    else:
        title = f"{who}の{topic}について" if rng.random() < 0.5 else f"{topic}の件"
        lines = (f"{title} {''.join(story)}{question}",) if shape == "title_prefix" else (title, "".join(story) + question)
    return lines, "".join(lines)


def _choice(entries: Sequence, random) -> object:
    return entries[int(random() * len(entries))]


# Where a page's recommendations come from: mostly pages published near it (RELATED_WINDOW pages either side),
# else pages published before the first one a corpus holds (negative serials), which no scrape reaches: the
# crawl frontier. A corpus of consecutive pages thus links most teasers to its own pages.
RELATED_WINDOW = 1_000
OLDER_PAGES = 20_000
OLDER_SHARE = 0.3
SAME_CATEGORY_SHARE = 0.4


def _related_block(seed: int, serial: int, own: Category) -> tuple[Related, ...]:
    """Ten other pages of the site (often of the same category), each shown once: their consultation and
    the start of their answer."""
    rng = _rng(seed, serial, "related")
    # Another category's page is taken with this chance: of the pages taken, SAME_CATEGORY_SHARE are the page's own.
    other_category = (1 - SAME_CATEGORY_SHARE) / SAME_CATEGORY_SHARE / (len(CATEGORIES) - 1)
    items: list[Related] = []
    chosen = {serial}
    while len(items) < RELATED_COUNT:
        if rng.random() < OLDER_SHARE:
            other = -1 - rng.randrange(OLDER_PAGES)
        else:
            other = serial + rng.randint(-RELATED_WINDOW, RELATED_WINDOW)
        if other in chosen:
            continue
        card = _card(seed, other)
        if card.category != own and rng.random() >= other_category:
            continue
        chosen.add(other)
        items.append(Related(card.shown, card.opening[:TEASER_CHARS], "..." if rng.random() < 0.9 else "…", card.url, other))
    return tuple(items)


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


def _answer(rng: random.Random, category: Category, words: dict, opening: str, budget_chars: int) -> tuple[tuple[str, object], ...]:
    random = rng.random
    n_headings = rng.randint(3, 8)
    style = rng.choice(_HEADING_STYLES)
    made = [_expand(_choice(words["HEAD"], random), words, random) for _ in range(3)]
    choices = list(dict.fromkeys((*category.heads, *GENERIC_HEADS[1:], *made)))
    heads = [*rng.sample(choices, n_headings - 1), CLOSING_HEAD]
    if random() < 0.3:
        heads[0] = GENERIC_HEADS[0]  # はじめに
    say = _Sayer(rng, words)
    intro = [("p", opening + (say.once("PLAN") or "") if random() < 0.5 else say.paragraph(lead=opening))]
    sections: list[list[tuple[str, object]]] = []
    for i, head in enumerate(heads):
        is_last = i == len(heads) - 1
        line = _heading_line(style, i + 1 if style != "mixed" else i, head, first=i == 0 or is_last)
        if is_last:
            body = say.once("CLOSE") or ""  # the first texts said: never None
        else:
            body = say.paragraph()
        sections.append([("h", line), ("p", body)])
    blocks_len = sum(len(str(b[1])) for s in sections for b in s) + sum(len(b[1]) for b in intro)
    # Grow the sections (never the closing one) until the budget is spent.
    while blocks_len < budget_chars:
        target = sections[rng.randrange(len(sections) - 1)]
        items = say.items(rng.randint(2, 4)) if random() < 0.12 and not any(k == "ul" for k, _ in target) else ()
        if len(items) >= 2:
            block: tuple[str, object] = ("ul", items)
            size = sum(map(len, items)) + 4
        elif text := say.paragraph():
            block, size = ("p", text), len(text)
        else:  # nothing new left to say: the answer ends here
            break
        if blocks_len + size > budget_chars:
            break
        target.insert(rng.randint(2, len(target)), block)
        blocks_len += size
    return (*intro, *(block for section in sections for block in section))


class _Sayer:
    """Sentences of one answer from the page's words, none said twice."""

    def __init__(self, rng: random.Random, words: dict) -> None:
        self.rng, self.random, self.words = rng, rng.random, words
        self.said: set[str] = set()

    def once(self, slot: str) -> str | None:
        """A text of the slot not said yet on this page (None once the page's words run out)."""
        pool, random = self.words[slot], self.random
        for _ in range(30):
            text = _expand(pool[int(random() * len(pool))], self.words, random)
            if text not in self.said:
                self.said.add(text)
                return text
        return None

    def items(self, count: int) -> tuple[str, ...]:
        return tuple("・" + item for item in (self.once("BULLET") for _ in range(count)) if item)

    def paragraph(self, lead: str | None = None) -> str:
        random, connectors = self.random, self.words["CONN"]
        sentences = [lead] if lead is not None and lead not in self.said else []
        self.said.update(sentences)
        for _ in range(1 + int(random() * 3) - len(sentences)):
            if (sentence := self.once("SENT")) is None:
                break
            if random() < (0.4 if sentences else 0.15):
                sentence = connectors[int(random() * len(connectors))][0] + sentence
            sentences.append(sentence)
        return "".join(sentences)


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
    workers: int | None = None,
) -> Summary:
    """Write the corpus under out_dir; `first_batch`/`first_serial` continue an existing corpus with new pages.

    From workers.PARALLEL_MIN_PAGES files on, the files are rendered and written in `workers` processes
    (default: every core; 1 renders here); each file is a function of its spec and the seed alone, so the
    files are the same either way."""
    specs = plan(
        pages, batches, html_share=html_share, rescrape_share=rescrape_share, changed_share=changed_share,
        seed=seed, first_batch=first_batch, first_serial=first_serial,
    )  # fmt: skip
    names = tuple(dict.fromkeys(spec.batch for spec in specs))
    for name in names:
        folder = out_dir / name
        if folder.exists() and not folder.is_dir():
            raise ValueError(f"{folder} is a file, where a batch folder would go")
        if folder.is_dir() and any(not p.name.startswith(".") for p in folder.iterdir()):  # .DS_Store is no page
            raise ValueError(
                f"{folder} already holds files: synth writes whole batches, never into one"
                " (continue a corpus with --first-batch and --first-serial)"
            )
    for name in names:  # before any task: a task only writes files
        (out_dir / name).mkdir(parents=True, exist_ok=True)
    parallel = len(specs) >= pools.PARALLEL_MIN_PAGES
    # A page's recommendation block shows pages published near it, whose cards a worker makes once and caches
    # (_card): workers taking turns at chunks of a few hundred files made nearly every card, ≈ 20% more CPU.
    runs = pools.consecutive_runs(specs, (workers or pools.cores()) if parallel else 1)
    write = functools.partial(_write_files, out_dir, seed)
    total = sum(pools.in_order(write, runs, parallel=parallel, workers=workers, small_tasks=True))
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


def _write_files(out_dir: Path, seed: int, specs: Sequence[FileSpec]) -> int:
    """Render and write these files (in a worker, or here); the bytes written."""
    total = 0
    for spec in specs:
        data = render(make_page(seed, spec.serial, spec.version, spec.format))
        (out_dir / spec.batch / spec.name).write_bytes(data)
        total += len(data)
    return total


# ---------------------------------------------------------------------------------------------------
# Command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="folder to write the batches into")
    parser.add_argument("--pages", type=int, required=True, help="files to write in all (re-scrapes included)")
    parser.add_argument("--batches", type=int, default=1, help="batch folders, filled evenly (default 1)")
    parser.add_argument("--batch-sizes", type=_sizes, help="comma-separated files per batch instead (sum = --pages)")
    parser.add_argument("--html-share", type=_share, default=0.3, help="share of pages saved as HTML (default 0.3)")
    parser.add_argument("--rescrape-share", type=_share, default=0.05, help="share of files that re-scrape a page (default 0.05)")
    parser.add_argument("--changed-share", type=_share, default=0.02, help="share of files that change a page's answer (default 0.02)")
    parser.add_argument("--seed", type=int, default=1, help="the same seed, the same corpus (default 1)")
    parser.add_argument("--first-batch", type=int, default=0, help="index of the first batch (continue a corpus; default 0)")
    parser.add_argument("--first-serial", type=int, default=0, help="number of the first new page (continue a corpus: the 'new pages' synth printed for it; default 0)")


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

