package brand

// dictionary is the built-in word list for combosquats: words phishing names pair with a brand
// (the vocabulary of dnstwist's english.dict and x0rz/phishing_catcher's suspicious.yaml
// keywords, written out here; no file copied).
var dictionary = []string{
	"account", "accounts", "activate", "activation", "admin", "alert", "app", "auth", "bank", "billing",
	"cancel", "check", "client", "cloud", "confirm", "connect", "customer", "dashboard", "help", "helpdesk",
	"id", "info", "invoice", "limited", "live", "login", "logon", "mail", "manage", "member", "mobile", "my",
	"online", "order", "pay", "payment", "portal", "recover", "recovery", "refund", "register", "renew",
	"reset", "safe", "secure", "security", "service", "services", "settings", "shop", "signin", "signup",
	"sso", "support", "team", "unlock", "update", "user", "validate", "verification", "verify", "wallet",
	"web", "webmail", "www",
}

// words is dictionary as a set.
var words = func() map[string]bool {
	m := make(map[string]bool, len(dictionary))
	for _, w := range dictionary {
		m[w] = true
	}
	return m
}()

// abusedTLDs are suffixes over-represented in phishing (phishing_catcher's suspicious TLDs and
// dnstwist's abused_tlds.dict, written out here).
var abusedTLD = map[string]bool{
	"ga": true, "gq": true, "ml": true, "cf": true, "tk": true, "xyz": true, "top": true, "online": true,
	"site": true, "club": true, "icu": true, "buzz": true, "work": true, "live": true, "support": true,
	"info": true, "biz": true, "cam": true, "rest": true, "shop": true, "click": true, "link": true,
	"country": true, "stream": true, "download": true, "xin": true, "racing": true, "review": true,
	"win": true, "bid": true, "loan": true, "men": true, "party": true, "science": true, "date": true,
	"faith": true, "accountant": true, "cricket": true, "zip": true, "mov": true, "cyou": true, "sbs": true,
}

// commonTLDs is the built-in list for the tld-swap fuzzer (the most registered generic and
// country suffixes).
var commonTLDs = []string{
	"com", "net", "org", "info", "biz", "co", "io", "me", "us", "uk", "co.uk", "de", "fr", "nl", "eu", "ru", "cn",
	"jp", "br", "com.br", "in", "co.in", "it", "es", "pl", "ca", "au", "com.au", "ch", "at", "be", "se", "no",
	"dk", "fi", "cz", "sk", "hu", "ro", "gr", "pt", "ie", "tr", "com.tr", "mx", "com.mx", "ar", "com.ar", "cl",
	"za", "co.za", "kr", "co.kr", "tw", "hk", "sg", "my", "id", "co.id", "ph", "vn", "th", "nz", "co.nz", "ua",
	"kz", "by", "il", "co.il", "ae", "sa", "eg", "ng", "ke", "app", "dev", "online", "site", "store", "shop",
	"tech", "xyz", "top", "club", "live", "cloud", "ai", "tv", "cc", "ws", "pw", "ga", "gq", "ml", "cf", "tk",
	"icu", "link", "click", "support", "email", "services", "website", "space", "fun",
}
