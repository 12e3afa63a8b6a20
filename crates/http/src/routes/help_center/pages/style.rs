//! The pages' one style sheet, and the colours a portal gives it: its brand colour parsed and
//! checked, text on it black or white, links darkened until they are readable.

const DEFAULT_BRAND: [u8; 3] = [0x1f, 0x93, 0xff];
/// The page background, which links must contrast with.
const PAGE_BG: [u8; 3] = [0xf6, 0xf8, 0xfa];

/// The CSS colours of a portal, all written by this module as `#rrggbb`.
pub(super) struct Palette {
    pub(super) brand: String,
    /// Black or white, whichever contrasts more with the brand colour.
    pub(super) on_brand: &'static str,
    /// The brand colour darkened until it reaches 4.5:1 on the page background.
    pub(super) link: String,
}

/// `#rgb` or `#rrggbb`; anything else is refused.
fn parse_colour(raw: &str) -> Option<[u8; 3]> {
    let hex = raw.trim().strip_prefix('#')?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |i: usize| u8::from_str_radix(hex.get(i..=i)?, 16).ok();
    match hex.len() {
        3 => Some([digit(0)? * 17, digit(1)? * 17, digit(2)? * 17]),
        6 => Some([
            digit(0)? * 16 + digit(1)?,
            digit(2)? * 16 + digit(3)?,
            digit(4)? * 16 + digit(5)?,
        ]),
        _ => None,
    }
}

fn hex([r, g, b]: [u8; 3]) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// WCAG relative luminance.
fn luminance(rgb: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2])
}

/// WCAG contrast ratio, 1 to 21.
fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

pub(super) fn palette(colour: Option<&str>) -> Palette {
    let brand = colour.and_then(parse_colour).unwrap_or(DEFAULT_BRAND);
    let on_brand = if contrast(brand, [0, 0, 0]) >= contrast(brand, [255, 255, 255]) {
        "#000000"
    } else {
        "#ffffff"
    };
    let mut link = brand;
    while contrast(link, PAGE_BG) < 4.5 {
        // Scale towards black; reaches black (≈19:1) in a few dozen steps at worst.
        link = link.map(|c| (f64::from(c) * 0.85) as u8);
    }
    Palette {
        brand: hex(brand),
        on_brand,
        link: hex(link),
    }
}

pub(super) const CSS: &str = "\
*,*::before,*::after{box-sizing:border-box}\
body{margin:0;font:16px/1.6 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif;color:#1f2328;background:#f6f8fa}\
a{color:var(--link);text-underline-offset:.15em}\
:focus-visible{outline:3px solid var(--link);outline-offset:2px}\
.wrap{max-width:54rem;margin:0 auto;padding:0 1rem}\
.vh{position:absolute;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap}\
.skip{position:absolute;left:-999px;top:.5rem;z-index:9;background:#fff;color:#000;padding:.5rem 1rem;border-radius:.5rem}\
.skip:focus{left:.5rem}\
header.site{background:var(--brand);color:var(--on-brand)}\
header.site a{color:var(--on-brand)}\
header.site :focus-visible{outline-color:var(--on-brand)}\
.bar{display:flex;flex-wrap:wrap;align-items:center;justify-content:space-between;gap:.5rem 1rem;padding-top:.75rem;padding-bottom:.75rem}\
.brand{display:inline-flex;align-items:center;gap:.6rem;font-weight:650;font-size:1.15rem;text-decoration:none}\
.brand img{height:2rem;width:auto}\
.hero{padding-top:1.5rem;padding-bottom:2.75rem}\
.hero h1{margin:0 0 1rem;font-size:clamp(1.6rem,4.5vw,2.4rem);line-height:1.2}\
.compact{padding-bottom:1rem}\
form.search{display:flex;gap:.5rem;max-width:38rem}\
form.search input{flex:1;min-width:0;font:inherit;padding:.6rem .85rem;border:1px solid #6e7781;border-radius:.5rem;background:#fff;color:#1f2328}\
button{font:inherit;font-weight:600;cursor:pointer;padding:.55rem 1.1rem;border-radius:.5rem;border:1px solid rgba(0,0,0,.4);background:var(--brand);color:var(--on-brand)}\
header.site button{background:var(--on-brand);color:var(--brand)}\
main{display:block;padding-top:1.5rem;padding-bottom:3rem}\
h1,h2,h3{line-height:1.25}\
main h1{font-size:clamp(1.5rem,4vw,2.1rem);margin:.25rem 0 .75rem}\
.card{background:#fff;border:1px solid #d0d7de;border-radius:.75rem;padding:1.1rem 1.4rem;margin:0 0 1rem}\
.grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fill,minmax(min(100%,16rem),1fr));list-style:none;padding:0;margin:0 0 1rem}\
.grid .card{margin:0}\
.card h2,.card h3{font-size:1.15rem;margin:0 0 .4rem}\
.list{list-style:none;padding:0;margin:0}\
.list>li{padding:.5rem 0;border-bottom:1px solid #eaeef2}\
.list>li:last-child{border-bottom:0}\
.list p{margin:.2rem 0 0}\
.muted{color:#57606a}\
.icon{margin-right:.35rem}\
.crumbs ol{display:flex;flex-wrap:wrap;list-style:none;padding:0;margin:0 0 .75rem;font-size:.92rem}\
.crumbs li+li::before{content:\"›\";margin:0 .5rem;color:#57606a}\
.body{overflow-wrap:anywhere}\
.body img,.body video{max-width:100%;height:auto}\
.body pre{overflow:auto;background:#f6f8fa;padding:.85rem 1rem;border-radius:.5rem}\
.body table{border-collapse:collapse;display:block;overflow:auto}\
.body th,.body td{border:1px solid #d0d7de;padding:.4rem .6rem}\
.body blockquote{margin:1rem 0;padding:0 1rem;border-left:4px solid #d0d7de;color:#57606a}\
mark{background:#fff3b0;color:inherit;padding:0 .1em}\
.feedback fieldset{border:0;padding:0;margin:0;display:flex;flex-wrap:wrap;align-items:center;gap:.75rem}\
.feedback legend{float:left;font-weight:600;margin-right:.5rem}\
.feedback p{margin:0;font-weight:600}\
footer.site{border-top:1px solid #d0d7de;padding-top:1.25rem;padding-bottom:2rem;font-size:.92rem;color:#57606a}\
footer.site h2{font-size:.92rem;margin:0 0 .35rem}\
footer.site ul{display:flex;flex-wrap:wrap;gap:.35rem 1rem;list-style:none;padding:0;margin:0 0 .75rem}\
@media (max-width:30rem){form.search{flex-direction:column}.card{padding:1rem}}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_validated_and_text_on_them_readable() {
        assert_eq!(parse_colour("#1F93FF"), Some([0x1f, 0x93, 0xff]));
        assert_eq!(parse_colour("#fff"), Some([255, 255, 255]));
        for bad in [
            "red",
            "#12345",
            "#ggg",
            "1f93ff",
            "#1f93ff;}",
            "",
            "#+1+2+3",
        ] {
            assert_eq!(parse_colour(bad), None, "{bad}");
        }
        assert_eq!(palette(Some("red;}body{display:none")).brand, "#1f93ff");
        assert_eq!(palette(Some("#ffff00")).on_brand, "#000000");
        assert_eq!(palette(Some("#123")).on_brand, "#ffffff");
        for colour in [
            "#ffff00", "#1f93ff", "#ffffff", "#000000", "#ff0000", "#0f0",
        ] {
            let p = palette(Some(colour));
            let (brand, link) = (parse_colour(&p.brand), parse_colour(&p.link));
            let (Some(brand), Some(link), Some(on)) = (brand, link, parse_colour(p.on_brand))
            else {
                panic!("colours written as hex");
            };
            assert!(contrast(brand, on) >= 4.5, "{colour} text");
            assert!(contrast(link, PAGE_BG) >= 4.5, "{colour} links");
        }
    }
}
