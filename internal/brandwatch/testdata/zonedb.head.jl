{"domain":".aaa","type":"generic","tldmanager":"American Automobile Association, Inc.","domainpage":"https://www.iana.org/domains/root/db/aaa.html"}
{"domain":".aarp","type":"generic","tldmanager":"AARP","domainpage":"https://www.iana.org/domains/root/db/aarp.html"}
{"domain":".abarth","type":"generic","tldmanager":"Fiat Chrysler Automobiles N.V.","domainpage":"https://www.iana.org/domains/root/db/abarth.html"}
{"domain":".abb","type":"generic","tldmanager":"ABB Ltd","domainpage":"https://www.iana.org/domains/root/db/abb.html"}
{"domain":".abbott","type":"generic","tldmanager":"Abbott Laboratories, Inc.","domainpage":"https://www.iana.org/domains/root/db/abbott.html"}
{"domain":".abbvie","type":"generic","tldmanager":"AbbVie Inc.","domainpage":"https://www.iana.org/domains/root/db/abbvie.html"}
{"domain":".abc","type":"generic","tldmanager":"Disney Enterprises, Inc.","domainpage":"https://www.iana.org/domains/root/db/abc.html"}
{"domain":".able","type":"generic","tldmanager":"Able Inc.","domainpage":"https://www.iana.org/domains/root/db/able.html"}
{"domain":".abogado","type":"generic","tldmanager":"Registry Services, LLC","domainpage":"https://www.iana.org/domains/root/db/abogado.html"}
{"domain":".abudhabi","type":"generic","tldmanager":"Abu Dhabi Systems and Information Centre","domainpage":"https://www.iana.org/domains/root/db/abudhabi.html"}
{"domain":".ac","type":"country-code","tldmanager":"Internet Computer Bureau Limited","domainpage":"https://www.iana.org/domains/root/db/ac.html"}
{"domain":".academy","type":"generic","tldmanager":"Binky Moon, LLC","domainpage":"https://www.iana.org/domains/root/db/academy.html"}
{"domain":".allfinanz","type":"generic","tldmanager":"Allfinanz Deutsche Vermögensberatung Aktiengesellschaft","domainpage":"https://www.iana.org/domains/root/db/allfinanz.html"}
{"domain":".am","type":"country-code","tldmanager":"\"Internet Society\" Non-governmental Organization","domainpage":"https://www.iana.org/domains/root/db/am.html"}
{"domain":".ar","type":"country-code","tldmanager":"Presidencia de la Nación – Secretaría Legal y Técnica","domainpage":"https://www.iana.org/domains/root/db/ar.html"}
