// SPDX-License-Identifier: GPL-2.0
/*
 * Typed extractors: the facts a probe hit learns from one value it is told
 * is a folio, a vma, a pte_t...  A definition names the type of an
 * argument or of the return value ("object=$arg1:folio"); the kernels
 * mmrace runs on need not have BTF, so the types are compiled in.
 *
 * A definition may name the wrong type: nothing in the kernel can check
 * that "$arg2" of some function is a vma.  So an extractor never trusts
 * the value: a struct page pointer must be one of the memmap's (the pfn
 * it stands for is valid and maps back to it), and every other pointer is
 * read with get_kernel_nofault().  A wrong type yields wrong facts (and a
 * filter that does not match), never a fault.  The facts may also be torn
 * by the race itself (a folio split or freed under us): they feed filters
 * and keys only, nothing is written.
 */
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/uaccess.h>

#include "mmrace.h"

/* @v as a struct page of the memmap, or NULL. */
static struct page *memmap_page(unsigned long v)
{
	struct page *page = (struct page *)v;
	unsigned long pfn = page_to_pfn(page);

	return pfn_valid(pfn) && pfn_to_page(pfn) == page ? page : NULL;
}

static unsigned long inode_ino(const struct inode *inode)
{
	unsigned long ino;

	return get_kernel_nofault(ino, &inode->i_ino) ? 0 : ino;
}

/* A page's folio: frame, order, mapped, anon or file and then its inode. */
static void folio_facts(struct page *page, struct mmrace_hit *hit)
{
	struct folio *folio = page_folio(page);
	unsigned long mapping;
	struct address_space *as;
	struct inode *host;

	/* compound_head may be torn by a split or free in flight */
	if (!memmap_page((unsigned long)folio))
		return;
	mapping = (unsigned long)READ_ONCE(folio->mapping);
	as = (struct address_space *)mapping;
	hit->pfn = folio_pfn(folio);
	hit->order = folio_order(folio);
	hit->mapped = folio_mapped(folio);
	hit->anon = !!(mapping & PAGE_MAPPING_ANON);
	if (mapping && !(mapping & PAGE_MAPPING_FLAGS) &&
	    !get_kernel_nofault(host, &as->host) && host)
		hit->ino = inode_ino(host);
}

/* A present PTE: its folio, keyed by frame; a swap PTE: keyed by entry. */
static void pte_facts(pte_t pte, struct mmrace_hit *hit)
{
	unsigned long pfn;

	if (pte_none(pte))
		return;
	if (!pte_present(pte)) {
		hit->key = pte_to_swp_entry(pte).val;
		return;
	}
	pfn = pte_pfn(pte);
	/*
	 * A pte_special() one (VM_PFNMAP, VM_MIXEDMAP raw PFNs, the zero
	 * page) may map memory whose struct page is not a folio at all, e.g.
	 * a driver's remap_pfn_range() of a slab buffer.
	 */
	if (pte_special(pte) || !pfn_valid(pfn))
		return;
	folio_facts(pfn_to_page(pfn), hit);
	hit->key = hit->pfn;
}

static void vma_facts(const struct vm_area_struct *vma,
		      struct mmrace_hit *hit)
{
	const struct vm_operations_struct *ops;
	struct inode *inode;
	struct file *file;

	if (get_kernel_nofault(ops, &vma->vm_ops) ||
	    get_kernel_nofault(file, &vma->vm_file))
		return;
	hit->anon = !ops;	/* vma_is_anonymous() */
	if (file && !get_kernel_nofault(inode, &file->f_inode))
		hit->ino = inode_ino(inode);
}

/* folio, page: a struct folio or struct page pointer; key: folio frame */
static void fetch_folio(unsigned long v, struct mmrace_hit *hit)
{
	struct page *page = memmap_page(v);

	if (!page)
		return;
	folio_facts(page, hit);
	hit->key = hit->pfn;
}

/*
 * swap_folio: a folio (or its head page) being read in from swap, before
 * it is in the anon rmap: anonymous; key: its swap entry, which the
 * caller stored in folio->swap, the word page_private() reads.
 */
static void fetch_swap_folio(unsigned long v, struct mmrace_hit *hit)
{
	struct page *page = memmap_page(v);

	if (!page)
		return;
	folio_facts(page, hit);
	hit->anon = 1;
	hit->key = READ_ONCE(page->private);
}

/* pte: a pte_t passed or returned by value (on x86-64, one register) */
static void fetch_pte(unsigned long v, struct mmrace_hit *hit)
{
	pte_facts(__pte(v), hit);
}

/* vma: anon or its file's inode; key: the vma */
static void fetch_vma(unsigned long v, struct mmrace_hit *hit)
{
	vma_facts((const struct vm_area_struct *)v, hit);
	hit->key = v;
}

/* vmf: a struct vm_fault: its vma's facts, keyed by vmf->orig_pte */
static void fetch_vmf(unsigned long v, struct mmrace_hit *hit)
{
	const struct vm_fault *vmf = (const struct vm_fault *)v;
	struct vm_area_struct *vma;
	pte_t pte;

	if (get_kernel_nofault(vma, &vmf->vma) ||
	    get_kernel_nofault(pte, &vmf->orig_pte))
		return;
	pte_facts(pte, hit);
	vma_facts(vma, hit);
}

/* mapping: a struct address_space: its host's inode; key: the mapping */
static void fetch_mapping(unsigned long v, struct mmrace_hit *hit)
{
	const struct address_space *as = (const struct address_space *)v;
	struct inode *host;

	if (v & PAGE_MAPPING_FLAGS)
		return;
	hit->anon = 0;
	hit->key = v;
	if (!get_kernel_nofault(host, &as->host) && host)
		hit->ino = inode_ino(host);
}

/* inode: its number; key: the inode */
static void fetch_inode(unsigned long v, struct mmrace_hit *hit)
{
	hit->anon = 0;
	hit->key = v;
	hit->ino = inode_ino((const struct inode *)v);
}

/* file: its inode's number; key: the inode */
static void fetch_file(unsigned long v, struct mmrace_hit *hit)
{
	struct inode *inode;

	if (!get_kernel_nofault(inode, &((const struct file *)v)->f_inode))
		fetch_inode((unsigned long)inode, hit);
}

/* mm, swp_entry: the value itself is the key */
static void fetch_key(unsigned long v, struct mmrace_hit *hit)
{
	hit->key = v;
}

#define F_FOLIO (MMRACE_F_INO | MMRACE_F_ORDER | MMRACE_F_ANON | MMRACE_F_KEY | \
		 MMRACE_F_MAPPED)
#define F_SWAP (MMRACE_F_ORDER | MMRACE_F_ANON | MMRACE_F_KEY)	/* no file */
#define F_VMA (MMRACE_F_INO | MMRACE_F_ANON | MMRACE_F_KEY)
#define F_FILE (MMRACE_F_INO | MMRACE_F_KEY)

static const struct mmrace_type types[] = {
	{ "folio",	F_FOLIO,	fetch_folio },
	{ "page",	F_FOLIO,	fetch_folio },
	{ "swap_folio",	F_SWAP,		fetch_swap_folio },
	{ "pte",	F_FOLIO,	fetch_pte },
	{ "vma",	F_VMA,		fetch_vma },
	{ "vmf",	F_VMA,		fetch_vmf },
	{ "mapping",	F_FILE,		fetch_mapping },
	{ "inode",	F_FILE,		fetch_inode },
	{ "file",	F_FILE,		fetch_file },
	{ "mm",		MMRACE_F_KEY,	fetch_key },
	{ "swp_entry",	MMRACE_F_KEY,	fetch_key },
};

const struct mmrace_type *mmrace_type_find(const char *name)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(types); i++)
		if (!strcmp(types[i].name, name))
			return &types[i];
	return NULL;
}
